"""Benchmark `khc build` against honest floors and a peer, on the same generated input.

    python benchmarks/bench_build.py                       # N = 500, 2000, 10000; K = 3
    python benchmarks/bench_build.py --articles 500 2000   # a quicker run
    python benchmarks/bench_build.py --repeat 3 --readme   # what wrote benchmarks/README.md
    python benchmarks/bench_build.py --articles 2000 10000 100000 --khc-only-above 10000 \
        --memory-cap-mib 6000 --deltas 3                   # issue 17's targets (khc alone at 100,000)

For each N it generates a project (benchmarks/generate.py, cached under --work), then runs, in
turn within each round (so the machine's load falls on all of them alike), each in its own
process: `khc --root DIR build`; the floors of benchmarks/floors.py (decode with stdlib json or
msgspec, collector on or off, and write khc's own output tables with khc's writer options); the
peer. It prints wall time and peak memory (see run()) and khc's time against the strongest
floor (the fastest with the collector off) and the peer. At the largest N it also writes the
time and memory of each of khc's stages (its stage lines), a profile of one build summed by
stage (benchmarks/profile_stages.py), and a table of Parquet codecs and levels against file size
and write time on khc's tables (benchmarks/writer_options.py). With --readme it writes all of
those into benchmarks/README.md between its markers, with the verdicts of issues 17 and 18
(benchmarks/build_targets.py). A complete generated project under --work is reused; `--deltas D`
generates a base snapshot and D deltas instead of one snapshot (the build merges them); above
`--khc-only-above N` articles khc runs alone (at 100,000 the floors would need about 40 GB);
with `--memory-cap-mib` a job above that memory is killed and recorded as stopped, with khc's
last stage line, instead of taking the machine down.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from build_targets import (  # noqa: E402
    Outcome,
    is_complete,
    project_name,
    replace_between,
    stage_table,
    stopped_text,
    target_rows,
)
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


def kill_group(pid: int) -> None:
    """Kill a job started in its own session and its helpers (its process group), unless gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class Job:
    """One measured process: wall and CPU seconds (user + system, its waited-for children
    included), peak memory in MiB, and what it printed on stdout. (A plain class: the tests load
    this script by path, where a dataclass cannot find its module.)"""

    def __init__(self, wall: float, cpu: float, peak: float, stdout: str, stopped: str | None = None):
        self.wall, self.cpu, self.peak, self.stdout, self.stopped = wall, cpu, peak, stdout, stopped


def run(command: list[str], stages: Path | None = None, cap_mib: float | None = None) -> Job:
    """Run one job with this checkout's code first on the path. Peak memory is the larger of the
    kernel's peak RSS of its largest process (wait4) and the peak of the summed RSS of the process
    and all its children, sampled every 20 ms: khc builds large corpora with a helper process, and
    both processes' memory counts (summing RSS counts shared library pages twice, so this errs
    high). stderr goes to `stages` (khc's stage lines) or is kept for an error message. Above
    `cap_mib` (summed) the job and its children are killed, and the Job says where it stopped."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    sink = stages.open("w+b") if stages else tempfile.TemporaryFile()
    with sink, tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=sink, env=env, start_new_session=True)
        peak, done, capped = [0.0], threading.Event(), threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_mib(process.pid))
                if cap_mib is not None and peak[0] > cap_mib and not capped.is_set():
                    capped.set()
                    kill_group(process.pid)
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C: the terminal's SIGINT never reaches the job's own session
            kill_group(process.pid)
            with contextlib.suppress(ChildProcessError):  # already collected
                os.waitpid(process.pid, 0)
            raise
        finally:
            done.set()
            sampler.join()
        wall = time.perf_counter() - started
        if capped.is_set():
            sink.seek(0)
            stopped = stopped_text(peak[0], sink.read().decode(errors="replace"))
            return Job(wall, usage.ru_utime + usage.ru_stime, peak[0], "", stopped)
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


README = HERE / "README.md"
KHC = Path(sys.executable).with_name("khc")


def measure_project(
    project: Path, repeat: int, work: Path, khc_only: bool = False, cap_mib: float | None = None
) -> tuple[dict[str, list[Job]], str, Path]:
    """Every job `repeat` times, interleaved: a round runs khc, the floors and the peer in turn
    (khc alone with `khc_only`, or once a memory cap stopped it). Returns the jobs' runs, khc's
    last stderr and a kept khc output (for the codec table)."""
    others = [] if khc_only else [*(name for name, _, _ in FLOORS), "peer"]
    runs: dict[str, list[Job]] = {"khc": [], **{name: [] for name in others}}
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
            runs["khc"].append(run([str(KHC), "--root", str(project), "build", "--out", str(out)], log, cap_mib))
            stderr = log.read_text()
            if runs["khc"][-1].stopped:  # no output to measure the floors with, and no use in repeating it
                return {"khc": runs["khc"]}, stderr, kept
            if khc_only:
                continue
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


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "khc-bench")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the jobs; the median time and the highest memory are shown"
    )
    parser.add_argument(
        "--deltas", type=int, default=0, help="generate a base snapshot and this many deltas (the build merges them)"
    )
    parser.add_argument(
        "--khc-only-above", type=int, default=None, metavar="N", help="above N articles run khc alone (no floors, peer)"
    )
    parser.add_argument(
        "--memory-cap-mib", type=float, default=None, help="kill a job above this much memory (all its processes)"
    )
    parser.add_argument(
        "--readme", action="store_true", help="write the results into benchmarks/README.md between its markers"
    )
    return parser.parse_args()


def main() -> None:
    args = arguments()
    print(f"machine: {machine()}")
    table = [
        "| N | job | wall s | CPU s | peak MiB | khc / job (time) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    outcomes: dict[int, Outcome] = {}
    stages, profiled, codecs = [], [], []
    with_floors = [n for n in args.articles if args.khc_only_above is None or n <= args.khc_only_above]
    for n in args.articles:
        project = args.work / project_name(n, args.annotators, args.deltas)
        if not is_complete(project, n, args.deltas):  # a complete one is reused (generating N=100,000 takes minutes)
            generate(n, args.annotators, project, deltas=args.deltas)
        runs, stderr, kept = measure_project(project, args.repeat, args.work, n not in with_floors, args.memory_cap_mib)
        outcomes[n] = report_project(n, runs, table)
        if n == max(args.articles):
            stages = stage_table(stderr, runs["khc"][-1].wall)
        if with_floors and n == max(with_floors) and not outcomes[n].stopped:
            stats = profile(project, args.work / "profiled-out", args.work / "khc.pstats")
            profiled = [*stage_rows(stats), "", *function_rows(stats)]
            current = (PARQUET_OPTIONS["compression"], PARQUET_OPTIONS["compression_level"])
            codecs = table_rows(measure(kept, PARQUET_OPTIONS, args.repeat), current)
    targets = target_rows(outcomes)
    print("\n".join(["", *targets, "", f"khc's stages at N = {max(args.articles):,}:", *stages, "", *profiled, "",
                     *codecs]))  # fmt: skip
    if args.readme:
        write_readme(args, table, targets, stages, profiled, codecs)


def report_project(n: int, runs: dict[str, list[Job]], table: list[str]) -> Outcome:
    """Print and add to `table` the jobs' figures at one N; khc's outcome."""
    stopped = runs["khc"][-1].stopped
    results = {
        job: (statistics.median(r.wall for r in rs), statistics.median(r.cpu for r in rs), max(r.peak for r in rs))
        for job, rs in runs.items()
    }
    floors = [name for name, _, collector in FLOORS if collector == "off" and name in results]
    strongest = min(floors, key=lambda j: results[j][0]) if floors else None
    for job, (wall, cpu, peak) in results.items():
        ratio = "" if job == "khc" else f"{results['khc'][0] / wall:.2f}"
        strong = " (strongest floor)" if job == strongest else ""
        shown = f"{wall:.2f}" if not (job == "khc" and stopped) else f"{stopped} after {wall:.0f}"
        print(f"{n:>6} {job + strong:<40} {shown:>8} s {cpu:>8.2f} CPU s {peak:>7.0f} MiB  khc/job {ratio}")
        table.append(f"| {n:,} | {job}{strong} | {shown} | {cpu:.2f} | {peak:,.0f} | {ratio} |")
    wall, _cpu, peak = results["khc"]
    ratio = wall / results[strongest][0] if strongest else None
    return Outcome(None if stopped else wall, peak, ratio, stopped)


def write_readme(args, table, targets, stages, profiled, codecs) -> None:
    commit = subprocess.run(["git", "log", "-1", "--format=%h"], capture_output=True, text=True, cwd=HERE).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "builders"], capture_output=True, text=True, cwd=HERE)
    snapshots = f"a base snapshot and {args.deltas} delta snapshots" if args.deltas else "one full snapshot"
    only = f"; above N = {args.khc_only_above:,} khc alone" if args.khc_only_above is not None else ""
    measured = [
        f"Measured on {time.strftime('%Y-%m-%d')} at commit `{commit.strip()}`"
        + (" (with uncommitted changes under builders/)" if dirty.stdout.strip() else "")
        + f", K = {args.annotators}, {snapshots}{only}, median of {args.repeat} round(s) per job,",
        f"on {machine()}, by `python benchmarks/bench_build.py {' '.join(sys.argv[1:])}`.",
        "",
    ]
    text = replace_between(README.read_text(encoding="utf-8"), "results", measured + table + ["", *targets])
    for name, lines in (("stages", stages), ("profile", profiled), ("codecs", codecs)):
        if lines:  # not measured this run (khc alone at the largest N): what the README had stays
            text = replace_between(text, name, lines)
    README.write_text(text, encoding="utf-8")
    print(f"wrote {README}")


if __name__ == "__main__":
    main()
