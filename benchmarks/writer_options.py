"""Parquet writer options measured on khc's own output tables: file size and write time per codec
and level, so the choice in builders/build/write.py follows from a measurement."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

# (codec, level) pairs tried; None: the codec's default level.
CANDIDATES = (
    ("none", None),
    ("snappy", None),
    ("lz4", None),
    ("zstd", 1),
    ("zstd", 3),
    ("zstd", 6),
    ("zstd", 9),
    ("zstd", 12),
    ("gzip", 6),
)


def measure(khc_out: Path, base_options: dict, repeat: int = 3) -> list[dict]:
    """For each candidate: total bytes of all of khc's tables, and the median seconds to write
    them one after another (one thread) and to read them back."""
    tables = {p.relative_to(khc_out): pq.read_table(p) for p in sorted(khc_out.rglob("*.parquet"))}
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for codec, level in CANDIDATES:
            options = {**base_options, "compression": codec, "compression_level": level}
            writes, reads, size = [], [], 0
            for _ in range(repeat):
                started = time.perf_counter()
                for rel, table in tables.items():
                    pq.write_table(table, Path(tmp) / rel.as_posix().replace("/", "_"), **options)
                writes.append(time.perf_counter() - started)
                size = sum(p.stat().st_size for p in Path(tmp).iterdir())
                started = time.perf_counter()
                for p in Path(tmp).iterdir():
                    pq.read_table(p)
                reads.append(time.perf_counter() - started)
            found.append(
                {
                    "codec": codec,
                    "level": level,
                    "bytes": size,
                    "write": statistics.median(writes),
                    "read": statistics.median(reads),
                }
            )
    return found


def table_rows(found: list[dict], current: tuple[str, int | None]) -> list[str]:
    """Markdown rows, the option khc writes with marked."""
    rows = [
        "| codec | level | MiB (all tables) | write s (one thread) | read s | |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for f in found:
        mark = "khc's choice" if (f["codec"], f["level"]) == current else ""
        level = "" if f["level"] is None else f["level"]
        rows.append(
            f"| {f['codec']} | {level} | {f['bytes'] / 2**20:,.1f} | {f['write']:.2f} | {f['read']:.2f} | {mark} |"
        )
    return rows
