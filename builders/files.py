"""Files written whole or not at all, for every stage that rewrites a file a user keeps (the
committed split and fold records, the snapshot index, the baseline's evaluation record, a release
record and the CHANGELOG, the pseudonym key)."""

from __future__ import annotations

import os
from pathlib import Path


def write_whole(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Write `path` whole or not at all: a temporary file beside it, flushed to disk and renamed
    over it, so a failure (a full disk, Ctrl-C) leaves the old file as it was and no temporary
    file behind. Text is written as UTF-8 with `\\n` line ends kept as they are; with `mode`, the
    file is created with (and set to) that mode before anything is written into it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if mode is None:
            handle = tmp.open("wb")
        else:  # created with its mode: a private file is never readable by others, even briefly
            handle = os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb")
            os.fchmod(handle.fileno(), mode)  # a leftover temporary file may have had another mode
        with handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
