"""Benchmark `khc build` against the floor and a peer, on the same generated input.

    python benchmarks/bench_build.py                       # N = 500, 2000, 10000; K = 3
    python benchmarks/bench_build.py --articles 500 2000   # a quicker run

For each N it generates a project (benchmarks/generate.py, cached under --work), then runs
three jobs, one after another, each in its own process:
  floor  parse the export and corpus with the standard json module and write the output
         tables with pyarrow.parquet (no validation, no aggregation);
  peer   what a user would otherwise do: label-studio-sdk's converter turns the export into
         JSON-MIN, then pandas + datasets.Dataset.from_pandas(...).to_parquet;
  khc    `khc --root DIR build`: validation, aggregation, agreement, card, manifest.
It prints wall time and peak memory (see run()) and the ratios khc/floor and khc/peer, and
the time and memory of each of khc's stages at the largest N (from khc's stage lines).
With --readme it writes those tables into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402

FLOOR = r"""
import json, sys
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq
root, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
with (root / "corpus" / "articles.jsonl").open() as f:
    articles = [json.loads(line) for line in f]
keep = ("article_id", "title", "text", "text_sha256")
pq.write_table(pa.Table.from_pylist([{k: a[k] for k in keep} for a in articles]), out / "articles.parquet")
spans, units = [], []
for path in sorted((root / "annotations" / "exports").glob("*.json")):
    with path.open() as f:
        tasks = json.load(f)
    for task in tasks:
        for a in task["annotations"]:
            units.append({"task": task["id"], "annotation": a["id"], "annotator": str(a["completed_by"])})
            for r in a["result"]:
                v = r["value"]
                spans.append({"task": task["id"], "annotation": a["id"], "from_name": r["from_name"],
                              "start": v.get("start"), "end": v.get("end"),
                              "label": (v.get("labels") or v.get("choices") or [None])[0]})
pq.write_table(pa.Table.from_pylist(units), out / "annotations.parquet")
pq.write_table(pa.Table.from_pylist(spans), out / "spans.parquet")
"""

PEER = r"""
import json, sys
from pathlib import Path
import pandas as pd
from datasets import Dataset
from label_studio_sdk.converter import Converter
root, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
config = (root / "annotations" / "labeling_config.xml").read_text()
converter = Converter(config=config, project_dir=None, download_resources=False)
for path in sorted((root / "annotations" / "exports").glob("*.json")):
    converter.convert_to_json_min(str(path), str(out), is_dir=False)
rows = json.loads((out / "result.json").read_text())
frame = pd.DataFrame(rows)
for column in frame.columns:  # nested label lists → JSON text, as a user would for Parquet
    if frame[column].map(lambda v: isinstance(v, (list, dict))).any():
        frame[column] = frame[column].map(json.dumps)
Dataset.from_pandas(frame).to_parquet(str(out / "peer.parquet"))
"""


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


def run(command: list[str], stages: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak memory (MiB) of one job. Peak memory is the larger of the kernel's
    peak RSS of its largest process (wait4) and the peak of the summed RSS of the process and
    all its children, sampled every 20 ms: khc builds large corpora with a helper process, and
    both processes' memory counts (summing RSS counts shared library pages twice, so this
    errs high). stderr goes to `stages` (khc's stage lines) or is kept for an error message."""
    sink = stages.open("w+b") if stages else tempfile.TemporaryFile()
    with sink:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
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
    return wall, max(usage.ru_maxrss / 1024, peak[0])  # Linux reports ru_maxrss in KiB


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "khc-bench")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each job; the median time and the highest memory are shown"
    )
    parser.add_argument(
        "--readme", action="store_true", help="write the results into benchmarks/README.md between its markers"
    )
    args = parser.parse_args()
    khc = Path(sys.executable).with_name("khc")
    print(f"machine: {machine()}")
    print(f"{'N':>6} {'job':<6} {'wall s':>8} {'peak MiB':>9}  ratios")
    table = [
        "| N | job | wall s | peak MiB | khc / floor (time) | khc / peer (time) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    stages: list[str] = []
    for n in args.articles:
        project = args.work / f"n{n}-k{args.annotators}"
        if not (project / "annotations" / "exports").exists():
            generate(n, args.annotators, project)
        runs: dict[str, list[tuple[float, float]]] = {"floor": [], "peer": [], "khc": []}
        with tempfile.TemporaryDirectory(dir=args.work) as tmp:
            for _ in range(args.repeat):
                runs["floor"].append(run([sys.executable, "-c", FLOOR, str(project), f"{tmp}/floor"]))
                runs["peer"].append(run([sys.executable, "-c", PEER, str(project), f"{tmp}/peer"]))
                (project / "corpus" / "splits.csv").unlink(missing_ok=True)  # every run assigns from scratch
                log = Path(tmp) / "khc.stderr"
                runs["khc"].append(run([str(khc), "--root", str(project), "build", "--out", f"{tmp}/khc"], log))
            stderr = log.read_text()
        results = {job: (statistics.median(w for w, _ in r), max(m for _, m in r)) for job, r in runs.items()}
        if n == max(args.articles):
            stages = stage_table(stderr, runs["khc"][-1][0])
        for job, (wall, rss) in results.items():
            note, ratios = "", ["", ""]
            if job == "khc":
                ratios = [f"{wall / results['floor'][0]:.2f}", f"{wall / results['peer'][0]:.2f}"]
                note = f"khc/floor {ratios[0]}  khc/peer {ratios[1]}  RSS khc/floor {rss / results['floor'][1]:.2f}"
            print(f"{n:>6} {job:<6} {wall:>8.2f} {rss:>9.0f}  {note}", flush=True)
            table.append(f"| {n:,} | {job} | {wall:.2f} | {rss:,.0f} | {ratios[0]} | {ratios[1]} |")
    print("\n".join(["", f"khc's stages at N = {max(args.articles):,}:", *stages]))
    if args.readme:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h"], capture_output=True, text=True, cwd=HERE
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "builders"], capture_output=True, text=True, cwd=HERE
        )
        measured = [
            f"Measured on {time.strftime('%Y-%m-%d')} at commit `{commit}`"
            + (" (with uncommitted changes under builders/)" if dirty.stdout.strip() else "")
            + f", K = {args.annotators}, median of {args.repeat} run(s) per job,",
            f"on {machine()}, by `python benchmarks/bench_build.py {' '.join(sys.argv[1:])}`.",
            "",
        ]
        text = replace_between(README.read_text(encoding="utf-8"), "results", measured + table)
        text = replace_between(text, "stages", stages)
        README.write_text(text, encoding="utf-8")
        print(f"wrote {README}")


if __name__ == "__main__":
    main()
