"""Near-duplicate checks at scale: one `khc ingest` against N articles, and the build's cross-split check.

    python benchmarks/bench_neardup.py                       # N = 10,000, median of 3
    python benchmarks/bench_neardup.py --articles 2000 --repeat 1
    python benchmarks/bench_neardup.py --readme              # write the table into benchmarks/README.md

The corpus is benchmarks/generate.py's (seeded). Jobs, each timed around a real process:
- ingest, baseline: `khc ingest` of one new article with the code of --baseline (default: the
  commit before the near-duplicate check), unpacked from git;
- ingest, cold / warm: `khc ingest` of the same article with this code, without and with the
  signature cache (.khc-cache/) that an earlier ingest or build leaves;
- cross-split check, cold / warm: `cross_split_near_duplicates` on the whole corpus (in a fresh
  process, timed inside it, imports excluded), with the splits the build would assign;
- build: `khc build` of the same project (once), for the check's share of it.
The check must find no pair in the generated corpus and must find a planted twin of article 1
put into another split: zero pairs means something only if a real pair is found.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
from bench_build import machine, replace_between  # noqa: E402
from generate import generate  # noqa: E402

README = HERE / "README.md"
BASELINE = "8dec5b2"  # the last commit before near-duplicate checks and the new ingest rules
CACHE = ".khc-cache"

CHECK = """
import json, sys, time
from pathlib import Path
from builders.corpus.neardup import cross_split_near_duplicates, CACHE_FILE
from builders.corpus.records import load_corpus
from builders.corpus.splits import choose_splits
from builders.project import load_project
import pandas as pd
project = load_project(Path(sys.argv[1]))
corpus = load_corpus(project)
splits = choose_splits({}, corpus["article_id"].tolist(), project.splits.seed, project.splits.ratios)
start = time.perf_counter()
pairs = cross_split_near_duplicates(corpus, splits, project.root / CACHE_FILE)
seconds = time.perf_counter() - start
first = corpus.iloc[0]
twin = first["text"].replace(". ", ".  ") + "\\nA footer line added to the copy of the first article."
planted = pd.concat([corpus, pd.DataFrame([{"article_id": "khc-999999", "text": twin, "text_sha256": "planted"}])])
other = next(s for s in ("train", "validation", "test") if s != splits[first["article_id"]])
found = cross_split_near_duplicates(planted, {**splits, "khc-999999": other})
print(json.dumps({"seconds": seconds, "pairs": len(pairs), "planted_found": [p[:4] for p in found]}))
"""


def timed(command: list[str], env_path: Path) -> tuple[float, str]:
    start = time.perf_counter()
    # cwd too: `python -m` puts the working folder first on the path, before PYTHONPATH
    env = {**os.environ, "PYTHONPATH": str(env_path)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=env_path)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def fresh_copy(project: Path, dest: Path, *, cache: bool) -> Path:
    """A copy with the corpus and settings (ingest reads nothing else), with or without the cache."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for rel in ("khc.toml", "datacard.md", "annotations/guidelines.md", "annotations/labeling_config.xml"):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project / rel, dest / rel)
    shutil.copytree(project / "corpus", dest / "corpus")
    if cache and (project / CACHE).exists():
        shutil.copytree(project / CACHE, dest / CACHE)
    return dest


def new_article(folder: Path) -> Path:
    import random

    from generate import article_text

    path = folder / "new-article.txt"
    path.write_text(article_text(random.Random(424242), 424242).replace("Synthetic", "Another"), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "khc-bench-neardup")
    parser.add_argument("--baseline", default=BASELINE, help="commit whose ingest is 'today's' (default %(default)s)")
    parser.add_argument("--readme", action="store_true", help="write the table into benchmarks/README.md")
    args = parser.parse_args()
    python = sys.executable
    khc = [python, "-m", "builders.cli"]
    work = args.work
    project = work / f"project-{args.articles}"
    if not (project / "corpus" / "articles.jsonl").exists():
        generate(args.articles, 3, project)
    baseline_tree = work / f"baseline-{args.baseline}"
    if not baseline_tree.exists():  # the baseline's package, unpacked (no git worktree is registered)
        baseline_tree.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", args.baseline, "builders"], cwd=REPO, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(baseline_tree)], input=archive.stdout, check=True)
    article = new_article(work)
    rows: dict[str, list[float]] = {}

    # The cache as a build leaves it: the check's cold run writes it into the project.
    shutil.rmtree(project / CACHE, ignore_errors=True)
    check = work / "check.py"
    check.write_text(CHECK, encoding="utf-8")
    outcome = {}
    for label, keep in (("cross-split check, cold cache", False), ("cross-split check, warm cache", True)):
        for _ in range(args.repeat):
            if not keep:
                shutil.rmtree(project / CACHE, ignore_errors=True)
            _, out = timed([python, str(check), str(project)], REPO)
            outcome = json.loads(out)
            rows.setdefault(label, []).append(outcome["seconds"])
    if outcome["pairs"] != 0 or len(outcome["planted_found"]) != 1:
        sys.exit(f"the check went wrong: {outcome}")

    for n in range(args.repeat):  # round by round, so a change in the machine's load hits all three alike
        for label, code, cache in (
            ("ingest, baseline code", baseline_tree, False),
            ("ingest, cold cache", REPO, False),
            ("ingest, warm cache", REPO, True),
        ):
            copy = fresh_copy(project, work / f"ingest-{n}", cache=cache)
            seconds, _ = timed([*khc, "--root", str(copy), "ingest", str(article)], code)
            rows.setdefault(label, []).append(seconds)

    build_out = work / "build-out"
    build_seconds, _ = timed([*khc, "--root", str(project), "build", "--out", str(build_out)], REPO)
    shutil.rmtree(build_out, ignore_errors=True)
    (project / "corpus" / "splits.csv").unlink(missing_ok=True)  # the next run starts as generated

    median = {label: statistics.median(values) for label, values in rows.items()}
    table = [
        f"Measured on {time.strftime('%Y-%m-%d')} at N = {args.articles:,}, median of {args.repeat} run(s), "
        f"on {machine()}, by `python benchmarks/bench_neardup.py --readme`. The check found "
        f"{outcome['pairs']} cross-split pairs in the generated corpus and the planted twin "
        f"({outcome['planted_found'][0][0]} / {outcome['planted_found'][0][2]}).",
        "",
        "| job | seconds | against |",
        "|---|---:|---|",
    ]
    base = median["ingest, baseline code"]
    for label in ("ingest, baseline code", "ingest, cold cache", "ingest, warm cache"):
        extra = "" if label.endswith("code") else f"{median[label] - base:+.2f} s beyond the baseline (target < 1 s)"
        table.append(f"| {label} | {median[label]:.2f} | {extra} |")
    table.append(f"| `khc build` (once) | {build_seconds:.2f} | |")
    for label in ("cross-split check, cold cache", "cross-split check, warm cache"):
        share = 100 * median[label] / build_seconds
        table.append(f"| {label} | {median[label]:.2f} | {share:.1f} % of the build (target < 10 %) |")
    print("\n".join(table))
    if args.readme:
        README.write_text(replace_between(README.read_text(encoding="utf-8"), "neardup", table), encoding="utf-8")
        print(f"wrote {README}")


if __name__ == "__main__":
    main()
