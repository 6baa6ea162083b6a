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
It prints wall time and peak RSS (from the kernel's accounting of each child process) and
the ratios khc/floor and khc/peer.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
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


def run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:3]} failed:\n{process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "khc-bench")
    args = parser.parse_args()
    khc = Path(sys.executable).with_name("khc")
    print(f"machine: {machine()}")
    print(f"{'N':>6} {'job':<6} {'wall s':>8} {'peak MiB':>9}  ratios")
    for n in args.articles:
        project = args.work / f"n{n}-k{args.annotators}"
        if not (project / "annotations" / "exports").exists():
            generate(n, args.annotators, project)
        (project / "corpus" / "splits.csv").unlink(missing_ok=True)  # every run assigns from scratch
        results = {}
        with tempfile.TemporaryDirectory(dir=args.work) as tmp:
            results["floor"] = run([sys.executable, "-c", FLOOR, str(project), f"{tmp}/floor"])
            results["peer"] = run([sys.executable, "-c", PEER, str(project), f"{tmp}/peer"])
            results["khc"] = run([str(khc), "--root", str(project), "build", "--out", f"{tmp}/khc"])
        for job, (wall, rss) in results.items():
            note = ""
            if job == "khc":
                note = (
                    f"khc/floor {wall / results['floor'][0]:.2f}  khc/peer {wall / results['peer'][0]:.2f}  "
                    f"RSS khc/floor {rss / results['floor'][1]:.2f}"
                )
            print(f"{n:>6} {job:<6} {wall:>8.2f} {rss:>9.0f}  {note}", flush=True)


if __name__ == "__main__":
    main()
