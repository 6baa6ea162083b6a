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


def test_the_writer_options_change_bytes_never_content(tmp_path):
    """The compression level was chosen by measurement (zstd 3 instead of 9): a table written with
    either reads back equal, value for value and type for type, with the same Hugging Face metadata."""
    from builders.build.write import PARQUET_OPTIONS
    from builders.features import arrow_schema

    schema = arrow_schema("claim_tokens")
    table = pa.table(
        {
            "article_id": ["khc-000001", "khc-000002"],
            "tokens": [["Ketamine", "works", "."], []],
            "token_start": [[0, 9, 14], []],
            "token_end": [[8, 14, 15], []],
            "tags": [[1, 2, 0], []],
            "fold": [3, None],
        },
        schema=schema,
    )
    pq.write_table(table, tmp_path / "before.parquet", **{**PARQUET_OPTIONS, "compression_level": 9})
    pq.write_table(table, tmp_path / "after.parquet", **PARQUET_OPTIONS)
    before, after = pq.read_table(tmp_path / "before.parquet"), pq.read_table(tmp_path / "after.parquet")
    assert after.equals(before) and after.schema.metadata == before.schema.metadata == schema.metadata
    assert after.equals(table)
