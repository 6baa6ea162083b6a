"""The pure parts of benchmarks/bench_build.py (benchmarks/build_targets.py) and its memory cap:
which generated projects are reused, where a capped build stopped, and the targets' verdicts."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def load(name: str):
    sys.path.insert(0, str(BENCHMARKS))  # the scripts import their neighbours
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # as an import would: a dataclass looks its module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


targets = load("build_targets")
STDERR = """\
khc: 100000 articles in the corpus; reading the Label Studio exports [3.2 s, peak 410 MiB]
some progress line
khc: read 300000 annotations, 100000 predictions and 2 spans; aggregating [95.0 s, peak 5120 MiB]
Traceback (not a stage line)
"""


def test_the_last_stage_line_says_where_a_build_was_stopped():
    assert targets.last_stage(STDERR) == "read 300000 annotations, 100000 predictions and 2 spans; aggregating"
    assert targets.stopped_text(6001.4, STDERR) == (
        "stopped at 6,001 MiB during stage “read 300000 annotations, 100000 predictions and 2 spans; aggregating”"
    )
    assert targets.stopped_text(700, "no stage line\n") == "stopped at 700 MiB during start-up (no stage line yet)"


def verdicts(outcomes) -> dict[str, tuple[str, str]]:
    rows = targets.target_rows(outcomes)[2:]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    return {f"{issue} {target}": (measured, verdict) for issue, target, measured, verdict in cells}


def test_the_targets_of_issues_17_and_18_are_judged_from_the_figures():
    Outcome = targets.Outcome
    got = verdicts({2_000: Outcome(10.0, 600, 1.9), 10_000: Outcome(40.0, 1_600, 1.4), 100_000: Outcome(500.0, 1_900)})
    assert got == {
        "17 N = 100,000: peak memory (all processes) ≤ 2 GB (1,907 MiB)": ("1,900 MiB", "met"),
        "17 N = 100,000: wall ≤ 11× the wall at N = 10,000": ("12.5×", "not met"),
        "17 N = 10,000: khc ≤ 1.25× the strongest floor (time)": ("1.40×", "not met"),
        "18 N = 10,000: khc ≤ 1.5× the strongest floor (time)": ("1.40×", "met"),
        "18 N = 10,000: peak memory (all processes) ≤ 1.6 GB (1,526 MiB)": ("1,600 MiB", "not met"),
        "18 N = 2,000: khc ≤ 2× the strongest floor (time)": ("1.90×", "met"),
    }


def test_a_stopped_or_missing_run_is_never_met():
    stopped = "stopped at 6,001 MiB during stage “aggregating”"
    got = verdicts({10_000: targets.Outcome(40.0, 1_500, None), 100_000: targets.Outcome(None, 6_001, None, stopped)})
    assert got["17 N = 100,000: peak memory (all processes) ≤ 2 GB (1,907 MiB)"] == (
        "6,001 MiB",
        f"not met ({stopped})",
    )
    assert got["17 N = 100,000: wall ≤ 11× the wall at N = 10,000"] == ("—", f"not met ({stopped})")
    assert got["17 N = 10,000: khc ≤ 1.25× the strongest floor (time)"] == ("—", "not measured")  # khc alone
    assert got["18 N = 2,000: khc ≤ 2× the strongest floor (time)"] == ("—", "not measured")


@pytest.mark.parametrize("deltas", [0, 2])
def test_only_a_complete_generated_project_is_reused(tmp_path, deltas):
    generate = load("generate")
    project = tmp_path / targets.project_name(40, 2, deltas)
    generate.generate(40, 2, project, deltas=deltas)
    assert project.name == ("n40-k2-d2" if deltas else "n40-k2")
    assert targets.is_complete(project, 40, deltas)
    assert not targets.is_complete(project, 41, deltas)  # another N
    assert not targets.is_complete(project, 40, 3)  # another history
    exports = project / "annotations" / "exports"
    index = json.loads((exports / "snapshots.json").read_text())
    (exports / sorted(index)[-1]).unlink()  # a generator killed after the index? it writes the index last
    assert not targets.is_complete(project, 40, deltas)
    (exports / "snapshots.json").unlink()
    assert not targets.is_complete(project, 40, deltas)


def test_a_job_above_the_memory_cap_is_stopped_and_says_where(tmp_path):
    bench = load("bench_build")
    code = (
        "import sys, time\n"
        "print('khc: reading the Label Studio exports [0.1 s, peak 20 MiB]', file=sys.stderr, flush=True)\n"
        "held = b'x' * (600 * 2**20)\n"
        "time.sleep(60)\n"
    )
    job = bench.run([sys.executable, "-c", code], tmp_path / "stages", cap_mib=300)
    assert job.stopped is not None and job.wall < 50
    assert job.stopped.startswith("stopped at ") and job.stopped.endswith(
        "during stage “reading the Label Studio exports”"
    )
    assert job.peak > 300
    assert bench.run([sys.executable, "-c", "print('fine')"], cap_mib=300).stopped is None


def alive(pid: int) -> bool:
    """The process is there and not a zombie (/proc: a zombie's state is Z)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# A job that starts a helper of its own (as khc build does) and sleeps; both pids go to the file.
SLEEPER = (
    "import os, subprocess, sys, time\n"
    "helper = subprocess.Popen(['sleep', '60'])\n"
    "open(sys.argv[1] + '.tmp', 'w').write(f'{os.getpid()} {helper.pid}')\n"
    "os.replace(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "time.sleep(60)\n"
)


# The benchmark in a process of its own, as a user runs it: Ctrl-C there is SIGINT to that process.
BENCHMARK = (
    "import sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "import bench_build, profile_stages\n"
    "command = [sys.executable, '-c', sys.argv[4], sys.argv[3]]\n"
    "try:\n"
    "    if sys.argv[2] == 'bench_build':\n"
    "        bench_build.run(command)\n"
    "    else:\n"
    "        profile_stages.memory_profile(command, limit_mib=10_000)\n"
    "except KeyboardInterrupt:\n"
    "    print('interrupted')\n"
)


@pytest.mark.parametrize("script", ["bench_build", "profile_stages"])
def test_ctrl_c_stops_the_job_and_its_helpers(tmp_path, script):
    """The job runs in its own session (so the memory cap can kill all of it), where the terminal's
    SIGINT never reaches it: an interrupted benchmark kills it itself. The benchmark runs in a
    process of its own (in pytest's process a signal sent to its main thread was, in the whole
    suite, not delivered until the job ended)."""
    pids = tmp_path / "pids"
    started = time.monotonic()
    benchmark = subprocess.Popen(
        [sys.executable, "-c", BENCHMARK, str(BENCHMARKS), script, str(pids), SLEEPER],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(BENCHMARKS.parent)},
    )
    for _ in range(1000):
        if pids.exists() or benchmark.poll() is not None:
            break
        time.sleep(0.02)
    assert pids.exists(), "the job never started"
    time.sleep(0.3)  # the benchmark is waiting for its job by now
    benchmark.send_signal(signal.SIGINT)  # what Ctrl-C sends to the benchmark's process
    out, _ = benchmark.communicate(timeout=30)
    assert out.strip() == "interrupted"
    job, helper = (int(p) for p in pids.read_text().split())
    for _ in range(100):  # the helper, orphaned, is reaped by init
        if not alive(helper):
            break
        time.sleep(0.05)
    assert not alive(job) and not alive(helper)
    assert time.monotonic() - started < 30
