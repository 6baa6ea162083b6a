"""Work spread over forked worker processes that inherit what they read, never sent it pickled.

Training's candidate tables, the cross-validation's fold fits and prediction's parts all map one
function over many items while every call reads the same large object (the training data, the
fitted model). `forked_map` puts that object in a module-level slot just before the pool forks,
so each worker process finds it in its copy of this module; only the items and the results cross
between processes. One map at a time uses the slot (the model's commands are single-threaded).
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

PARALLEL_MIN_ARTICLES = 400  # below this many articles the work is done in this process
WORKERS = 2  # the machine's cores

_SHARED: list[tuple[Callable, Any]] = []  # (function, what it reads): what the forked workers inherit


def forked_map(function: Callable[[Any, Any], Any], items: Iterable, shared: Any, *, parallel: bool) -> Iterator:
    """`function(item, shared)` for each item, in the items' order, as each is done: in `WORKERS`
    forked processes when `parallel`, else here, one after the other (the same results: each
    call depends on its item and `shared` alone)."""
    items = list(items)
    if not parallel:
        yield from (function(item, shared) for item in items)
        return
    _SHARED[:] = [(function, shared)]
    gc.freeze()  # the workers' garbage collections skip what they inherit (the model and data stay alive)
    try:
        with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork")) as pool:
            yield from pool.map(_call, items)
    finally:
        gc.unfreeze()
        _SHARED.clear()


def _call(item: Any) -> Any:
    function, shared = _SHARED[0]
    return function(item, shared)
