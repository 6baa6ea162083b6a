"""The writer (builders/build/write.py): the layout's files, only for splits with rows."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from builders.build.write import output_hashes, write_json, write_tables
from builders.layout import CONFIGS, SPLITS, parquet_path


def test_only_splits_with_rows_are_written_at_their_layout_path(tmp_path):
    one = pa.table({"x": [1, 2]})
    empty = one.slice(0, 0)
    tables = {c: {s: (one if (c, s) == ("claims", "train") else empty) for s in SPLITS} for c in CONFIGS}
    rows = write_tables(tmp_path, tables)
    assert rows == {parquet_path("claims", "train"): 2}
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")] == list(rows)
    assert pq.read_table(tmp_path / parquet_path("claims", "train")).equals(one)


def test_output_hashes_list_every_file_but_the_manifest(tmp_path):
    write_json(tmp_path / "a.json", {"b": 1, "a": [2]})
    write_json(tmp_path / "manifest.json", {})
    found = output_hashes(tmp_path, {"a.json": 3})
    assert list(found) == ["a.json"] and found["a.json"]["rows"] == 3
    assert (tmp_path / "a.json").read_text() == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'  # sorted, stable
