"""Progress on long work: a tqdm bar on a terminal, plain lines every few seconds elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
LINE_EVERY_SECONDS = 10.0


def progress(items: Iterable[T], *, desc: str, unit: str, total: int | None = None) -> Iterator[T]:
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if sys.stderr.isatty():
        yield from tqdm(items, desc=desc, unit=unit, total=total, leave=False, file=sys.stderr)
        return
    started = last = time.monotonic()
    count = 0
    for item in items:
        yield item
        count += 1
        now = time.monotonic()
        if now - last >= LINE_EVERY_SECONDS:
            of = f"/{total}" if total else ""
            print(f"  {desc}: {count}{of} {unit}s ({now - started:.0f}s)", file=sys.stderr, flush=True)
            last = now
