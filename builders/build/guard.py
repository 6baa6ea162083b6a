"""Bounded reading: a scan of a JSON file's nesting depth and task sizes before it is parsed.

A hostile or broken export can hold a value nested a hundred thousand levels deep in a few
hundred kilobytes; a streaming parser keeps a path per level and needs memory that grows with
the square of the depth (23.8 GB for 200 KB, observed). So each label file is scanned first,
in chunks, with numpy (strings and escapes honoured), and refused when it nests deeper than
MAX_DEPTH or holds a task larger than MAX_TASK_BYTES, naming the file and the task. Label
Studio's own exports nest about ten levels deep.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

MAX_DEPTH = 64
MAX_TASK_BYTES = 64 * 2**20
CHUNK = 16 * 2**20

_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_DELTA = np.zeros(256, dtype=np.int8)
_DELTA[[ord("["), ord("{")]] = 1
_DELTA[[ord("]"), ord("}")]] = -1
_ONLY_BRACKETS = bytes(b if b in b"[]{}" else 0 for b in range(256))  # bytes.translate table


@dataclass
class Scan:
    """What the scan found: the deepest nesting, and the first task that breaks a limit."""

    max_depth: int = 0
    too_deep_task: int | None = None  # index of the first task nested deeper than MAX_DEPTH
    too_large_task: int | None = None  # index of the first task larger than MAX_TASK_BYTES
    # where each top-level element ends (its closing bracket's byte offset), for cutting the file
    # into tasks without scanning it again (builders/build/decode.py)
    ends: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def ok(self) -> bool:
        return self.too_deep_task is None and self.too_large_task is None


@dataclass
class Brackets:
    """The brackets of one chunk that are outside strings: their positions in the chunk, +1 for
    an opening and -1 for a closing one, and the nesting level after each."""

    chunk: bytes
    positions: np.ndarray
    delta: np.ndarray
    levels: np.ndarray


def brackets(chunks: Iterable[bytes]) -> Iterator[Brackets]:
    """The brackets outside strings of a JSON document given as byte chunks (strings and escapes
    honoured across chunk ends). Work is done on the positions of quotes and brackets only, so a
    chunk costs a few passes of numpy."""
    in_string, backslashes, depth = False, 0, 0
    for chunk in chunks:
        data = np.frombuffer(chunk, dtype=np.uint8)
        if not len(data):
            continue
        quotes = _real_quotes(chunk, data, backslashes)
        backslashes = _trailing_backslashes(chunk, backslashes)
        positions = np.flatnonzero(np.frombuffer(chunk.translate(_ONLY_BRACKETS), dtype=np.uint8))
        # a bracket is inside a string when an odd number of real quotes precede it
        outside = (np.searchsorted(quotes, positions) + in_string) % 2 == 0
        positions = positions[outside]
        delta = _DELTA[data[positions]].astype(np.int64)
        levels = depth + np.cumsum(delta)
        in_string = bool((len(quotes) + in_string) % 2)
        if len(levels):
            depth = int(levels[-1])
        yield Brackets(chunk, positions, delta, levels)


def scan(chunks: Iterable[bytes]) -> Scan:
    """Scan a JSON document given as byte chunks (a top-level list of tasks)."""
    found = Scan()
    offset = 0
    tasks_before, open_start = 0, None  # tasks started in earlier chunks; start of a task still open
    every_end = []
    for part in brackets(chunks):
        delta, levels = part.delta, part.levels
        if len(levels):
            found.max_depth = max(found.max_depth, int(levels.max()))
        # tasks: entering level 2 starts one (level 1 is the list of tasks), back to level 1 ends it
        starts = part.positions[(delta == 1) & (levels == 2)] + offset
        ends = part.positions[(delta == -1) & (levels == 1)] + offset
        every_end.append(ends)
        too_deep = part.positions[levels > MAX_DEPTH + 1]
        if len(too_deep):
            found.too_deep_task = tasks_before + int(np.searchsorted(starts, too_deep[0] + offset, "right")) - 1
            break
        opened = np.concatenate([[open_start], starts]) if open_start is not None else starts
        sizes = ends - opened[: len(ends)]
        if len(sizes) and sizes.max() > MAX_TASK_BYTES:
            first = int(np.flatnonzero(sizes > MAX_TASK_BYTES)[0])
            found.too_large_task = tasks_before + first - (open_start is not None)
            break
        tasks_before += len(starts)
        open_start = int(opened[len(ends)]) if len(opened) > len(ends) else None
        offset += len(part.chunk)
        if open_start is not None and offset - open_start > MAX_TASK_BYTES:
            found.too_large_task = tasks_before - 1
            break
    if every_end:
        found.ends = np.concatenate(every_end)
    return found


def _real_quotes(chunk: bytes, data: np.ndarray, carried: int) -> np.ndarray:
    """Positions of the quote characters not escaped by an odd run of backslashes (a run at
    the chunk's start continues the `carried` backslashes that ended the previous chunk).
    Only quotes right after a backslash need a look back, and those are few."""
    positions = np.flatnonzero(data == _QUOTE)
    if not len(positions):
        return positions
    after_backslash = positions[positions > 0]
    after_backslash = after_backslash[data[after_backslash - 1] == _BACKSLASH]
    escaped = []
    for q in after_backslash.tolist():
        run = 0
        while q - run - 1 >= 0 and chunk[q - run - 1] == _BACKSLASH:
            run += 1
        if q - run == 0:
            run += carried
        if run % 2:
            escaped.append(q)
    if positions[0] == 0 and carried % 2:
        escaped.append(0)
    return (
        np.setdiff1d(positions, np.array(escaped, dtype=positions.dtype), assume_unique=True) if escaped else positions
    )


def _trailing_backslashes(chunk: bytes, carried: int) -> int:
    """Backslashes that end the chunk (they may escape the next chunk's first quote)."""
    run = len(chunk) - len(chunk.rstrip(b"\\"))
    return carried + run if run == len(chunk) else run
