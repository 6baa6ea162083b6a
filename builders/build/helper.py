"""A second process for the build, on the machine's second core.

When the corpus is large enough for it to pay (PARALLEL_MIN_ARTICLES), a helper process
is spawned (so it shares no state or threads with this one) when the build starts, and
takes two jobs that need nothing from the main line of work:
- hashing the input files for the manifest, while the main process reads them;
- agreement's span matching and coding, while the main process aggregates (both need the
  same spans and nothing from each other); it receives only the unit columns agreement reads
  and the span arrays, and returns the coded answers and the kappas; the main process
  computes the alphas.
The results are the same either way (tests/test_build_fixture.py compares the outputs).
If the helper can't be started or dies, the work is done here instead, with a note.

The helper ends when the build's process ends, however it ends: a daemon thread in it
watches `os.getppid()` and exits the moment the helper is orphaned (SIGKILL of the build
included; the pool's own pipes never tell it, since a spawned worker holds both ends of its
queue). With the helper gone, the multiprocessing resource tracker, which exits when the
last process holding its pipe ends, goes too: a killed build leaves no process behind.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

import pandas as pd

from builders.progress import note

PARALLEL_MIN_ARTICLES = 200  # below this, agreement takes less than starting a process
ORPHAN_CHECK_SECONDS = 0.2
WARM_BATCH = 10_000  # articles whose near-duplicate signatures the helper computes at a time
T = TypeVar("T")


def _init(parent: int) -> None:
    """In the helper: end with the `parent` process, no progress output (the main process
    reports) and no cyclic GC (see progress.gc_paused; the helper lives for one build)."""
    import builders.progress

    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True, name="khc-orphan-watch").start()
    builders.progress.QUIET = True
    gc.disable()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)  # no cleanup to do: the results were for a build that is gone


def _warm() -> None:
    """The helper's imports, done while the main process reads."""
    import sklearn.metrics  # noqa: F401  (agreement imports it lazily: it is slow to import)

    import builders.build.agreement  # noqa: F401


class Helper:
    """`with Helper(enabled) as helper:` … `result = helper.run(fn, *args)` … `result()`: fn's
    result, computed in the helper process when enabled (fn and its arguments must pickle),
    else here when `result()` is called."""

    def __init__(self, enabled: bool):
        self.pool: ProcessPoolExecutor | None = None
        if enabled:
            try:
                context = multiprocessing.get_context("spawn")
                self.pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=context, initializer=_init, initargs=(os.getpid(),)
                )
                self.pool.submit(_warm)
            except (OSError, RuntimeError) as exc:  # e.g. no process may be started here
                note(f"working in one process ({exc})")
                self.pool = None

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> Callable[[], T]:
        def here() -> T:
            return fn(*args, **kwargs)

        if self.pool is None:
            return here
        try:
            future: Future = self.pool.submit(fn, *args, **kwargs)
        except (BrokenProcessPool, RuntimeError) as exc:
            note(f"the helper process is gone ({exc}); working in this process")
            self.pool = None
            return here

        def result() -> T:
            try:
                return future.result()
            except BrokenProcessPool as exc:
                note(f"the helper process died ({exc}); working in this process")
                return here()

        return result


def answers_of(units: pd.DataFrame, spans: pd.DataFrame, groups):
    """Agreement's coded answers of all annotators, also by whether a prediction was shown (the
    span matching is the costly part), and Cohen's kappas (scikit-learn is imported here
    already). Krippendorff's alpha is left to the main process once it has aggregated: it needs
    a few hundred MB for a moment at 10,000 articles, better spent when aggregation has finished
    than while it runs."""
    from builders.build.agreement import answers, kappas, model_versus_human
    from builders.build.anchoring import by_prediction_shown

    found = answers(units, spans, groups=groups)
    found.kappas = kappas(found)
    found.versus = model_versus_human(units, spans, groups)
    found.by_prediction = by_prediction_shown(units, spans, groups, found)  # with and without a prediction shown
    return found


def warm_from_file(cache: Path, corpus_file: Path, batch: int = WARM_BATCH) -> int:
    """`neardup.warm_cache` over the corpus file, read here in batches of articles: the texts
    are neither sent to the helper (a pickle of every text) nor held all at once in it. The
    build has checked the file already; returns how many signatures were added."""
    from builders.corpus.neardup import warm_cache
    from builders.corpus.records import iter_records

    added, digests, texts = 0, [], []
    for record in iter_records(corpus_file, str(corpus_file)):
        digests.append(record["text_sha256"])
        texts.append(record["text"])
        if len(texts) >= batch:
            added += warm_cache(cache, digests, texts)
            digests, texts = [], []
    return added + (warm_cache(cache, digests, texts) if texts else 0)


def hashes_of(paths: list[Path]) -> dict[Path, str]:
    from builders.corpus.records import sha256_file

    return {path: sha256_file(path) for path in paths}
