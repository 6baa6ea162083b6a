"""Write stage: the Hugging Face repo layout's files (into the staging folder that
builders/build/output.py moves into place only when it is complete)."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from builders.corpus.records import sha256_file
from builders.layout import parquet_path

# Fixed writer options: the same table gives the same bytes with the same pyarrow.
# zstd level 3: measured on these tables (benchmarks/README.md, writer options) it writes about
# three times faster than level 9 for a few per cent more bytes.
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "use_dictionary": True, "write_statistics": True}
TOOLS = ("datasets", "pyarrow", "pandas", "huggingface_hub", "numpy", "label-studio-sdk")


def write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **PARQUET_OPTIONS)


def write_tables(out: Path, tables: dict[str, dict[str, pa.Table]]) -> dict[str, int]:
    """Write every non-empty split; {path: rows}. Files are written two at a time (pyarrow
    encodes and compresses without holding the GIL, so the second core does half the work)."""
    jobs = {}
    for config, splits in tables.items():
        for split, table in splits.items():
            if table.num_rows:  # see card.present_splits
                jobs[parquet_path(config, split)] = table
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(write_parquet, table, out / rel) for rel, table in jobs.items()]:
            done.result()  # raises what the writer raised
    return {rel: table.num_rows for rel, table in jobs.items()}


class Writer:
    """`writer(config, splits)`: starts writing a config's Parquet files (a split or several) as
    soon as their tables are encoded, two at a time beside the encoding (pyarrow writes without
    the GIL), and returns what the card and metadata still read of them (`slim`): the build never
    holds every config's full tables at once. Keeps each file's rows and each table's `nbytes`
    (the card's `num_bytes`). `finish()` waits for the files; leaving the block waits too."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.rows: dict[str, int] = {}
        self.num_bytes: dict[str, dict[str, int]] = {}
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.pending: list = []

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __call__(self, config: str, splits: dict[str, pa.Table]) -> dict[str, pa.Table]:
        for split, table in splits.items():
            self.num_bytes.setdefault(config, {})[split] = table.nbytes
            if table.num_rows:  # see card.present_splits
                rel = parquet_path(config, split)
                self.pending.append(self.pool.submit(write_parquet, table, self.out / rel))
                self.rows[rel] = table.num_rows
        return {split: slim(config, table) for split, table in splits.items()}

    def finish(self) -> dict[str, int]:
        """{path: rows} of every file, once all are written (raises what a writer raised)."""
        for done in self.pending:
            done.result()
        self.pending = []
        return self.rows


SLIM_DROPPED = {"claim_tokens": ("tokens", "token_start", "token_end", "tags")}  # the card counts its rows only
SLIM_SPAN_FIELDS = ("result_origin",)  # what the card reads of the annotations' spans


def slim(config: str, table: pa.Table) -> pa.Table:
    """A written table without the columns nothing reads after writing: claim_tokens' token
    lists, and of the annotations' nested spans all but `SLIM_SPAN_FIELDS` (the other configs'
    tables are the baseline's staleness check's input, and are kept whole)."""
    table = table.drop_columns(list(SLIM_DROPPED.get(config, ())))
    if config != "annotations":
        return table
    spans = table.column("spans").combine_chunks()
    kept = [spans.values.field(name) for name in SLIM_SPAN_FIELDS]
    values = pa.StructArray.from_arrays(kept, fields=[spans.type.value_type.field(n) for n in SLIM_SPAN_FIELDS])
    column = pa.ListArray.from_arrays(spans.offsets, values, mask=spans.is_null() if spans.null_count else None)
    return table.set_column(table.schema.get_field_index("spans"), "spans", column)


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def tool_versions() -> dict[str, str]:
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in ("ketamine-health-claims", *TOOLS):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def output_hashes(out: Path, rows: dict[str, int]) -> dict[str, dict]:
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"):
        rel = path.relative_to(out).as_posix()
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        if rel in rows:
            files[rel]["rows"] = rows[rel]
    return files
