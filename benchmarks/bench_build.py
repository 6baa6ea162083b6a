"""Benchmark `khc build` against honest floors and a peer, on the same generated input.

    python benchmarks/bench_build.py                       # N = 500, 2000, 10000; K = 3
    python benchmarks/bench_build.py --articles 500 2000   # a quicker run
    python benchmarks/bench_build.py --repeat 3 --readme   # what wrote benchmarks/README.md

For each N it generates a project (benchmarks/generate.py, cached under --work), then runs, in
turn within each round (so the machine's load falls on all of them alike), each in its own
process: `khc --root DIR build`; the floors of benchmarks/floors.py (decode with stdlib json or
msgspec, collector on or off, and write khc's own output tables with khc's writer options); the
peer. It prints wall time and peak memory (see run()) and khc's time against the strongest
floor (the fastest with the collector off) and the peer. At the largest N it also writes the
time and memory of each of khc's stages (its stage lines), a profile of one build summed by
stage (benchmarks/profile_stages.py), and a table of Parquet codecs and levels against file size
and write time on khc's tables (benchmarks/writer_options.py). With --readme it writes all of
those into benchmarks/README.md between its markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from floors import FLOOR, FLOORS, PEER  # noqa: E402
from generate import generate  # noqa: E402
from profile_stages import function_rows, profile, stage_rows  # noqa: E402
from writer_options import measure, table_rows  # noqa: E402

REPO = HERE.parent
sys.path.insert(0, str(REPO))
from builders.build.write import PARQUET_OPTIONS  # noqa: E402


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants now, in MiB (Linux /proc)."""
    total_kib, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total_kib += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):  # gone meanwhile, or a zombie without VmRSS
            continue
    return total_kib / 1024


class Job:
    """One measured process: wall and CPU seconds (user + system, its waited-for children
    included), peak memory in MiB, and what it printed on stdout. (A plain class: the tests load
    this script by path, where a dataclass cannot find its module.)"""

    def __init__(self, wall: float, cpu: float, peak: float, stdout: str):
        self.wall, self.cpu, self.peak, self.stdout = wall, cpu, peak, stdout


def run(command: list[str], stages: Path | None = None) -> Job:
    """Run one job with this checkout's code first on the path. Peak memory is the larger of the
    kernel's peak RSS of its largest process (wait4) and the peak of the summed RSS of the process
    and all its children, sampled every 20 ms: khc builds large corpora with a helper process, and
    both processes' memory counts (summing RSS counts shared library pages twice, so this errs
    high). stderr goes to `stages` (khc's stage lines) or is kept for an error message."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    sink = stages.open("w+b") if stages else tempfile.TemporaryFile()
    with sink, tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=sink, env=env)
        peak, done = [0.0], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_mib(process.pid))
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        if os.waitstatus_to_exitcode(status) != 0:
            sink.seek(0)
            raise SystemExit(f"{command[:3]} failed:\n{sink.read().decode()[-2000:]}")
        out.seek(0)
        printed = out.read().decode()
    cpu = usage.ru_utime + usage.ru_stime
    return Job(wall, cpu, max(usage.ru_maxrss / 1024, peak[0]), printed)  # Linux: ru_maxrss in KiB


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(line.split()[1]) // 1024 // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB RAM, Python {platform.python_version()}, {platform.system()}"


STAGE_LINE = re.compile(r"^khc: (?P<what>.*) \[(?P<at>[0-9.]+) s, peak (?P<peak>[0-9]+) MiB\]$")
README = HERE / "README.md"
KHC = Path(sys.executable).with_name("khc")


def stage_table(stderr: str, wall: float) -> list[str]:
    """Markdown rows: each of khc's stage lines, the seconds until the next one, and the main
    process's peak memory when it was printed."""
    marks = [m.groupdict() for m in map(STAGE_LINE.match, stderr.splitlines()) if m]
    rows = ["| stage (khc's own line) | seconds | peak MiB of the main process at its start |", "|---|---:|---:|"]
    for i, mark in enumerate(marks):
        until = float(marks[i + 1]["at"]) if i + 1 < len(marks) else wall
        rows.append(f"| {mark['what']} | {until - float(mark['at']):.1f} | {int(mark['peak']):,} |")
    if marks:
        rows.insert(2, f"| start-up (imports, settings) | {float(marks[0]['at']):.1f} | |")
    return rows


def replace_between(text: str, name: str, lines: list[str]) -> str:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    head, rest = text.split(begin, 1)
    _old, tail = rest.split(end, 1)
    return head + begin + "\n" + "\n".join(lines) + "\n" + end + tail


def measure_project(project: Path, repeat: int, work: Path) -> tuple[dict[str, list[Job]], str, Path]:
    """Every job `repeat` times, interleaved: a round runs khc, the floors and the peer in turn.
    Returns the jobs' runs, khc's last stderr and a kept khc output (for the codec table)."""
    runs: dict[str, list[Job]] = {"khc": [], **{name: [] for name, _, _ in FLOORS}, "peer": []}
    kept = work / "khc-out"
    options = json.dumps(PARQUET_OPTIONS)
    for round_ in range(repeat):
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            (project / "corpus" / "splits.csv").unlink(missing_ok=True)  # every run assigns from scratch
            (project / "corpus" / "folds.csv").unlink(missing_ok=True)
            shutil.rmtree(project / ".khc-cache", ignore_errors=True)  # a fresh clone's build: cold cache
            log = Path(tmp) / "khc.stderr"
            out = kept if round_ == 0 else Path(tmp) / "khc"
            shutil.rmtree(out, ignore_errors=True)
            runs["khc"].append(run([str(KHC), "--root", str(project), "build", "--out", str(out)], log))
            stderr = log.read_text()
            for name, decoder, collector in FLOORS:
                command = [
                    sys.executable,
                    "-c",
                    FLOOR,
                    decoder,
                    collector,
                    str(project),
                    str(kept),
                    f"{tmp}/f",
                    options,
                ]
                job = run(command)
                job.wall = json.loads(job.stdout)["seconds"]  # the floor's own clock: after loading khc's tables
                runs[name].append(job)
            runs["peer"].append(run([sys.executable, "-c", PEER, str(project), f"{tmp}/peer"]))
    return runs, stderr, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "khc-bench")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the jobs; the median time and the highest memory are shown"
    )
    parser.add_argument(
        "--readme", action="store_true", help="write the results into benchmarks/README.md between its markers"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    table = [
        "| N | job | wall s | CPU s | peak MiB | khc / job (time) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    ratios: dict[int, float] = {}
    for n in args.articles:
        project = args.work / f"n{n}-k{args.annotators}"
        if not (project / "annotations" / "exports").exists():
            generate(n, args.annotators, project)
        runs, stderr, kept = measure_project(project, args.repeat, args.work)
        results = {
            job: (statistics.median(r.wall for r in rs), statistics.median(r.cpu for r in rs), max(r.peak for r in rs))
            for job, rs in runs.items()
        }
        strongest = min((name for name, _, collector in FLOORS if collector == "off"), key=lambda j: results[j][0])
        ratios[n] = results["khc"][0] / results[strongest][0]
        for job, (wall, cpu, peak) in results.items():
            ratio = "" if job == "khc" else f"{results['khc'][0] / wall:.2f}"
            strong = " (strongest floor)" if job == strongest else ""
            print(f"{n:>6} {job + strong:<40} {wall:>8.2f} s {cpu:>8.2f} CPU s {peak:>7.0f} MiB  khc/job {ratio}")
            table.append(f"| {n:,} | {job}{strong} | {wall:.2f} | {cpu:.2f} | {peak:,.0f} | {ratio} |")
        if n == max(args.articles):
            stages = stage_table(stderr, runs["khc"][-1].wall)
            stats = profile(project, args.work / "profiled-out", args.work / "khc.pstats")
            profiled = [*stage_rows(stats), "", *function_rows(stats)]
            current = (PARQUET_OPTIONS["compression"], PARQUET_OPTIONS["compression_level"])
            codecs = table_rows(measure(kept, PARQUET_OPTIONS, args.repeat), current)
    print("\n".join(["", f"khc's stages at N = {max(args.articles):,}:", *stages, "", *profiled, "", *codecs]))
    if args.readme:
        write_readme(args, table, ratios, stages, profiled, codecs)


def write_readme(args, table, ratios, stages, profiled, codecs) -> None:
    commit = subprocess.run(["git", "log", "-1", "--format=%h"], capture_output=True, text=True, cwd=HERE).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "builders"], capture_output=True, text=True, cwd=HERE)
    measured = [
        f"Measured on {time.strftime('%Y-%m-%d')} at commit `{commit.strip()}`"
        + (" (with uncommitted changes under builders/)" if dirty.stdout.strip() else "")
        + f", K = {args.annotators}, median of {args.repeat} round(s) per job,",
        f"on {machine()}, by `python benchmarks/bench_build.py {' '.join(sys.argv[1:])}`.",
        "",
    ]
    verdicts = ["| N | khc / strongest floor (time) | target |", "|---:|---:|---|"]
    for n, ratio in ratios.items():
        target = {10_000: 1.5, 2_000: 2.0}.get(n)
        verdict = "" if target is None else f"≤ {target}: {'met' if ratio <= target else 'not met'}"
        verdicts.append(f"| {n:,} | {ratio:.2f} | {verdict} |")
    text = replace_between(README.read_text(encoding="utf-8"), "results", measured + table + ["", *verdicts])
    text = replace_between(text, "stages", stages)
    text = replace_between(text, "profile", profiled)
    text = replace_between(text, "codecs", codecs)
    README.write_text(text, encoding="utf-8")
    print(f"wrote {README}")


if __name__ == "__main__":
    main()
