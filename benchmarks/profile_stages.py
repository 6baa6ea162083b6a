"""A profile of one `khc build` (cProfile, CPU time, in one process: `--single-process`), summed
by the build stage each function belongs to, and its most expensive functions; and, run as a
script, the memory of one build stage by stage (all its processes), killed above a limit:

    python benchmarks/profile_stages.py COPY_OF_PROJECT --out /tmp/out --limit-mib 6144
"""

from __future__ import annotations

import argparse
import pstats
import subprocess
import sys
import threading
import time
from pathlib import Path

from build_targets import STAGE_LINE

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


def memory_profile(command: list[str], limit_mib: float, every: float = 0.2) -> tuple[list[list], float, int | None]:
    """Run `command` (a `khc build`), sampling the summed resident memory of it and its child
    processes every `every` seconds; kill it when that passes `limit_mib`. Returns one row per
    stage line ([stage, seconds since start, tree MiB at the line, highest tree MiB until the
    next line]), the highest tree MiB, and the exit code (None when it was killed)."""
    from bench_build import kill_group, tree_rss_mib  # bench_build imports this module

    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    rows: list[list] = []
    highest, killed = [0.0], [False]
    started = time.monotonic()

    def sample() -> None:
        while process.poll() is None:
            now = tree_rss_mib(process.pid)
            highest[0] = max(highest[0], now)
            if rows:
                rows[-1][3] = max(rows[-1][3], now)
            if now > limit_mib and not killed[0]:
                killed[0] = True
                kill_group(process.pid)
            time.sleep(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        for line in process.stderr:
            found = STAGE_LINE.match(line.strip())
            if found:
                now = tree_rss_mib(process.pid)
                rows.append([found["what"], time.monotonic() - started, now, now])
            sys.stderr.write(line)
        code = process.wait()
    finally:  # Ctrl-C: the terminal's SIGINT never reaches the build's own session
        if process.poll() is None:
            kill_group(process.pid)
            process.wait()
        sampler.join()
    if killed[0]:
        rows.append([f"killed above {limit_mib:,.0f} MiB", time.monotonic() - started, highest[0], highest[0]])
    return rows, highest[0], None if killed[0] else code


def memory_rows(rows: list[list]) -> list[str]:
    table = ["| stage (khc's own line) | at s | tree MiB at the line | highest tree MiB until the next |"]
    table.append("|---|---:|---:|---:|")
    table += [f"| {stage} | {at:.1f} | {now:,.0f} | {high:,.0f} |" for stage, at, now, high in rows]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description="Memory of one `khc build`, stage by stage (all its processes).")
    parser.add_argument("root", type=Path, help="a project the build may write into (a copy: it writes splits.csv)")
    parser.add_argument("--out", type=Path, required=True, help="the output folder (outside the project)")
    parser.add_argument("--limit-mib", type=float, default=6144, help="kill the build above this (all processes)")
    args = parser.parse_args()
    command = [sys.executable, "-m", "builders.cli", "--root", str(args.root), "build", "--out", str(args.out)]
    rows, highest, code = memory_profile(command, args.limit_mib)
    print("\n".join(memory_rows(rows)))
    print(f"\nhighest summed RSS {highest:,.0f} MiB; exit {'killed' if code is None else code}")


if __name__ == "__main__":
    main()
