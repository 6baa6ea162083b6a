"""A profile of one `khc build` (cProfile, CPU time, in one process: `--single-process`), summed
by the build stage each function belongs to, and its most expensive functions."""

from __future__ import annotations

import pstats
import subprocess
import sys
from pathlib import Path

PROFILE = r"""
import cProfile, sys, time
stats, root, out = sys.argv[1:4]
sys.argv = ["khc", "--root", root, "build", "--out", out, "--single-process"]
from builders.cli import main
profile = cProfile.Profile(time.process_time)
try:
    profile.runcall(main)
except SystemExit:
    pass
profile.dump_stats(stats)
"""

# Which stage a function's module belongs to (first match); the rest is "other".
STAGES = (
    (
        "reading: JSON decoding (msgspec, ijson)",
        ("ijson", "builders/build/read.py:iter_tasks", "builders/build/decode.py", "msgspec"),
    ),
    ("reading: bounds scan", ("builders/build/guard.py",)),
    (
        "reading: validation and label rows",
        (
            "builders/build/read.py",
            "builders/build/reader.py",
            "builders/build/typed.py",
            "builders/build/parse.py",
            "builders/build/offsets.py",
            "builders/build/fields.py",
            "builders/build/labels.py",
            "builders/build/prediction.py",
            "builders/build/index.py",
            "builders/build/snapshots.py",
        ),
    ),
    ("aggregation", ("builders/build/aggregate.py", "builders/build/spans.py")),
    (
        "agreement",
        ("builders/build/agreement.py", "builders/build/coding.py", "builders/build/disagreements.py", "krippendorff"),
    ),
    ("near-duplicates (cold cache)", ("builders/corpus/neardup.py", "datasketch")),
    ("encoding the tables", ("builders/build/tables.py", "builders/build/tokens.py")),
    ("card, Croissant, JSON", ("builders/build/card.py", "builders/release/", "json/encoder.py", "mlcroissant")),
    ("writing Parquet", ("builders/build/write.py", "pyarrow/parquet")),
    ("imports", ("<frozen importlib",)),
)


def stage_of(key: tuple, stats: dict, seen: frozenset = frozenset()) -> str:
    """A function's stage: by its module, or else (builtins, pandas, numpy, ...) the stage of the
    caller that spent the most time in it."""
    path, _line, name = key
    for stage, parts in STAGES:
        if any(part in f"{path}:{name}" for part in parts):
            return stage
    callers = stats[key][4]
    if callers and key not in seen:
        caller = max(callers, key=lambda c: callers[c][3])
        return stage_of(caller, stats, seen | {key})
    return "other"


def profile(project: Path, out: Path, stats: Path) -> pstats.Stats:
    subprocess.run([sys.executable, "-c", PROFILE, str(stats), str(project), str(out)], check=True, capture_output=True)
    return pstats.Stats(str(stats))


def stage_rows(stats: pstats.Stats) -> list[str]:
    """Own CPU time of every function, summed by stage (see stage_of)."""
    by_stage: dict[str, float] = {}
    for key, (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        stage = stage_of(key, stats.stats)
        by_stage[stage] = by_stage.get(stage, 0.0) + own
    total = sum(by_stage.values())
    rows = ["| stage (by module) | CPU s under the profiler | share |", "|---|---:|---:|"]
    for stage, seconds in sorted(by_stage.items(), key=lambda item: -item[1]):
        rows.append(f"| {stage} | {seconds:.1f} | {seconds / total:.0%} |")
    return rows


def function_rows(stats: pstats.Stats, limit: int = 15) -> list[str]:
    """The functions with the most own CPU time."""
    rows = ["| function | calls | own CPU s | with callees s |", "|---|---:|---:|---:|"]
    entries = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:limit]
    for (path, line, name), (_cc, calls, own, cumulative, _callers) in entries:
        where = path.split("site-packages/")[-1].split("/builders/")[-1]
        where = f"builders/{where}" if "/builders/" in path else where
        rows.append(f"| `{name}` ({Path(where).name}:{line}) | {calls:,} | {own:.2f} | {cumulative:.2f} |")
    return rows
