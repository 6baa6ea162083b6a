"""builders/progress.py: how long work uses the runtime."""

from __future__ import annotations

import pyarrow as pa

from builders.progress import arrow_in_c_heap


def test_long_work_takes_arrow_buffers_from_the_c_heap_and_gives_the_pool_back():
    before = pa.default_memory_pool().backend_name
    with arrow_in_c_heap():
        assert pa.default_memory_pool().backend_name == "system"
        table = pa.table({"x": list(range(1000))})
        assert table.column("x").chunk(0).buffers()[1].size >= 8000
    assert pa.default_memory_pool().backend_name == before
    assert table.column("x").to_pylist()[-1] == 999  # buffers from the other pool stay valid
