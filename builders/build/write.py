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
