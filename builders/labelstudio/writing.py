"""Writing a snapshot khc made, and installing its record in the snapshot index.

The snapshot goes to a hidden `.partial` file and the new index to `.snapshots.json.pending`
(both synced to disk); then the snapshot is renamed into place, the snapshots it replaces (a
compaction's) are removed, and the pending index becomes `snapshots.json`. Anything that fails
before the snapshot's rename is undone; a process killed after it leaves the pending index, which
the next pull or compaction installs (`snapshots.finish_interrupted`): a snapshot is never left
unrecorded, recorded twice, or half written.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from builders.build.snapshots import INDEX_NAME, PENDING_INDEX, read_index, write_index
from builders.errors import fail
from builders.project import Project


def write_snapshot(
    project: Project,
    project_id: int,
    text: str | Iterable[str],
    now: datetime | None,
    entry: dict,
    *,
    kind: str,
    compress: bool,
    replaces: list[str] = (),
    before_install: Callable[[], None] | None = None,
) -> Path:
    """Write a new snapshot (never rewriting one) and install its index record `entry`. `text`
    is the whole text or its pieces in order (written as they come). `kind` marks the file name
    (`-delta`, `-compact`; `-import` for a download brought in by hand). `replaces`: snapshots
    (file names) that leave the folder and the index in the same install. `before_install` runs
    once the snapshot is written in full, before it is renamed into place."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    out = project.exports_dir / f"project-{project_id}{kind}-{stamp}.json{'.gz' if compress else ''}"
    if out.exists():
        fail(f"{project.rel(out)} exists already; a snapshot is never rewritten", fix="wait a second and pull again")
    entries = {name: e for name, e in read_index(project).items() if name not in replaces}
    entries[out.name] = entry  # what the build orders and merges snapshots by (builders/build/snapshots.py)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial, pending = out.parent / f".{out.name}.partial", out.parent / PENDING_INDEX
    installed = removing = False
    try:
        _write_text(partial, [text] if isinstance(text, str) else text, compress)
        if before_install is not None:
            before_install()
        _write(pending, json.dumps({"index": entries, "removes": list(replaces)}).encode("utf-8"))
        partial.rename(out)
        installed = True
        removing = bool(replaces)
        for name in replaces:  # with the pending index in place: a kill here is finished by the next pull
            (out.parent / name).unlink()
        write_index(out.parent, entries)
        pending.unlink()
    except BaseException:
        if not removing:  # undo; past this point only finishing is safe (finish_interrupted)
            partial.unlink(missing_ok=True)
            pending.unlink(missing_ok=True)
            if installed:
                out.unlink(missing_ok=True)
        raise
    return out


def _write_text(path: Path, pieces: Iterable[str], compress: bool) -> None:
    """UTF-8 text, gzip-compressed as `gzip.compress(data, 9, mtime=0)` does it in one piece
    (zlib's own gzip header: mtime 0, no file name), so the same snapshot gives the same bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31) if compress else None
    with path.open("wb") as handle:
        for piece in pieces:
            data = piece.encode("utf-8")
            handle.write(packer.compress(data) if packer else data)
        if packer:
            handle.write(packer.flush())
        handle.flush()
        os.fsync(handle.fileno())


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def finish_interrupted(project: Project) -> list[str]:
    """Finish or undo a pull (or compaction) killed while it installed its snapshot: its pending
    record ({"index": ..., "removes": [...]}, builders/labelstudio/writing.py) is installed when
    every snapshot it names is on disk, else dropped; leftover `.partial` files are removed.
    Returns what was done, for the user. Run under the project lock."""
    folder, done = project.exports_dir, []
    pending = folder / PENDING_INDEX
    if pending.is_file():
        try:
            record = json.loads(pending.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        entries = record.get("index") if isinstance(record, dict) else None
        if isinstance(entries, dict) and all((folder / name).is_file() for name in entries):
            for name in record.get("removes") or []:
                (folder / str(name)).unlink(missing_ok=True)
            write_index(folder, entries)
            done.append(f"recorded the snapshot an interrupted pull had written ({project.rel(folder / INDEX_NAME)})")
        else:
            done.append("removed the unfinished index of an interrupted pull")
        pending.unlink()
    for leftover in sorted(folder.glob(".*.partial")) if folder.is_dir() else []:
        leftover.unlink()
        done.append(f"removed {project.rel(leftover)}, left by an interrupted pull")
    return done
