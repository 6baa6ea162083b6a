"""Progress on long work: a tqdm bar on a terminal, plain lines every few seconds elsewhere."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm.auto import tqdm

from builders import STARTED

T = TypeVar("T")
LINE_EVERY_SECONDS = 10.0
QUIET = False  # set in a helper process, whose work the main process already reports


def progress(
    items: Iterable[T], *, desc: str, unit: str, total: int | None = None, extra: Callable[[], str] | None = None
) -> Iterator[T]:
    """Yield `items`, showing how far along we are; `extra()` adds live counts (e.g. labels read)."""
    if QUIET:
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if sys.stderr.isatty():
        bar = tqdm(items, desc=desc, unit=unit, total=total, leave=False, file=sys.stderr)
        for count, item in enumerate(bar, start=1):
            yield item
            if extra and count % 200 == 0:
                bar.set_postfix_str(extra(), refresh=False)
        return
    started = last = time.monotonic()
    count = 0
    for item in items:
        yield item
        count += 1
        now = time.monotonic()
        if now - last >= LINE_EVERY_SECONDS:
            of = f"/{total}" if total else ""
            more = f", {extra()}" if extra else ""
            print(f"  {desc}: {count}{of} {unit}s{more} ({now - started:.0f}s)", file=sys.stderr, flush=True)
            last = now


def note(message: str) -> None:
    """A line about which stage the build is in (stderr, so stdout stays the result), with the
    time since khc started and the process's peak memory so far (benchmarks/ reads them)."""
    print(
        f"khc: {message} [{time.monotonic() - STARTED:.1f} s, peak {peak_rss_mib():.0f} MiB]",
        file=sys.stderr,
        flush=True,
    )


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB (0 where the platform doesn't say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


@contextmanager
def gc_paused() -> Iterator[None]:
    """Long work without Python's cyclic garbage collector. A build allocates millions of small
    objects (labels, spans, per-article lists) that live until it ends; the collector would
    re-scan them again and again, a fifth of the build time at 10,000 articles, and they form
    no reference cycles worth collecting early. The collector runs once at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect()


@contextmanager
def arrow_in_c_heap() -> Iterator[None]:
    """Long work with Arrow's buffers taken from the C allocator (malloc), not pyarrow's own
    mimalloc pool. A build frees pandas and numpy memory (malloc's) and then builds its Arrow
    tables: with one allocator the tables reuse the memory the frames freed, with two each keeps
    its own freed memory, and the build's peak at 10,000 articles was about 130 MiB higher (the
    same CPU time, the same bytes written)."""
    import pyarrow as pa  # here: most commands never load it

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)
