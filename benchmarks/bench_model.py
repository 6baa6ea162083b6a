"""Benchmark the baseline model: `khc model train` at N = 2,000 articles, `khc preannotate
--model` for 10,000, against `khc build` of the same 2,000 per article.

    python benchmarks/bench_model.py            # N = 2000 to train, 10000 to predict
    python benchmarks/bench_model.py --readme   # also write the table into benchmarks/README.md

Projects come from benchmarks/generate.py (cached under --work, like bench_build.py). The
prediction project keeps only its corpus (its export is removed), so every article is one
"without a prediction yet". Each job runs in its own process; wall time and peak memory
are measured as bench_build.run() does. Training includes its cross-validation (5 folds) and
the detection threshold's tuning inside each training fold. khc's own stage lines of both jobs
are tabled.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_build import README, machine, replace_between, run, stage_table  # noqa: E402
from generate import generate  # noqa: E402


def _project(work: Path, n: int, annotators: int) -> Path:
    project = work / f"n{n}-k{annotators}"
    if not (project / "annotations" / "exports").exists():
        generate(n, annotators, project)
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=2000, help="articles of the training project")
    parser.add_argument("--predict", type=int, default=10000, help="articles to predict for")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "khc-bench")
    parser.add_argument("--readme", action="store_true", help="write the results into benchmarks/README.md")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    khc = str(Path(sys.executable).with_name("khc"))
    print(f"machine: {machine()}")
    train_project = _project(args.work, args.train, 3)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        tmp = Path(tmp)
        loads = [_load()]
        build = run([khc, "--root", str(train_project), "build", "--out", str(tmp / "dist")])
        print(f"build {args.train}: {build.wall:.1f} s, {build.peak:.0f} MiB", flush=True)
        shutil.rmtree(train_project / "dist", ignore_errors=True)  # train builds into a temporary folder
        log = tmp / "train.stderr"
        train = run([khc, "--root", str(train_project), "model", "train", "--out", str(tmp / "m")], log)
        stages = stage_table(log.read_text(), train.wall)
        (model,) = (tmp / "m").iterdir()
        card = json.loads((model / "card.json").read_text(encoding="utf-8"))
        print(f"train {args.train}: {train.wall:.1f} s, {train.peak:.0f} MiB ({card['model_version']})", flush=True)

        predict_project = tmp / "predict"
        generate(args.predict, 0, predict_project)
        shutil.rmtree(predict_project / "annotations" / "exports")
        log = tmp / "predict.stderr"
        predict = run([khc, "--root", str(predict_project), "preannotate", "--model", str(model)], log)
        predict_stages = stage_table(log.read_text(), predict.wall)
        loads.append(_load())
        written = json.loads((predict_project / "annotations" / "predictions" / f"{model.name}.json").read_text())
        print(f"predict {args.predict}: {predict.wall:.1f} s, {predict.peak:.0f} MiB, {len(written)} tasks", flush=True)

    jobs = [
        ("`khc build` (for comparison)", args.train, build),
        ("`khc model train` (5-fold CV + fit)", args.train, train),
        ("`khc preannotate --model`", args.predict, predict),
    ]
    table = [
        "| job | articles | wall s | CPU s | peak MiB | wall ms per article | CPU ms per article |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {n:,} | {job.wall:.1f} | {job.cpu:.1f} | {job.peak:,.0f} | {job.wall / n * 1000:.1f} | "
            f"{job.cpu / n * 1000:.1f} |"
            for name, n, job in jobs
        ),
    ]
    per_build, per_predict = build.wall / args.train * 1000, predict.wall / args.predict * 1000
    cpu_build, cpu_predict = build.cpu / args.train * 1000, predict.cpu / args.predict * 1000
    verdict = "less" if per_predict < per_build else "more"
    summary = (
        f"Prediction costs {per_predict:.1f} ms per article (wall), {verdict} than the build's {per_build:.1f} ms "
        f"({per_predict / per_build:.2f}×); in CPU time {cpu_predict:.1f} ms against {cpu_build:.1f} ms. "
        f"Load average (1 min) {loads[0]} at the start, {loads[1]} at the end: the machine's 2 cores are shared."
    )
    print("\n".join(["", *table, "", summary, "", "training stages:", *stages]))
    print("\n".join(["", "prediction stages:", *predict_stages]))
    if args.readme:
        commit = subprocess.run(["git", "log", "-1", "--format=%h"], capture_output=True, text=True, cwd=HERE)
        measured = [
            f"Measured on {time.strftime('%Y-%m-%d')} at commit `{commit.stdout.strip()}`, on {machine()},",
            f"by `python benchmarks/bench_model.py {' '.join(sys.argv[1:])}`.",
            "",
            *table,
            "",
            summary,
            "",
            "Training, stage by stage:",
            "",
            *stages,
            "",
            "Prediction, stage by stage (articles are predicted in 2 worker processes, 100 at a time):",
            "",
            *predict_stages,
        ]
        text = README.read_text(encoding="utf-8")
        if "<!-- model:begin -->" not in text:
            text += "\n# Baseline model benchmark\n\n<!-- model:begin -->\n<!-- model:end -->\n"
        README.write_text(replace_between(text, "model", measured), encoding="utf-8")
        print(f"wrote {README}")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


if __name__ == "__main__":
    main()
