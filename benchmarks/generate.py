"""Generate a synthetic project folder on which `khc --root DIR build` runs unchanged.

    python benchmarks/generate.py --articles 2000 --annotators 3 --out /tmp/khc-bench-2000

Writes DIR/khc.toml, DIR/datacard.md, DIR/annotations/{guidelines.md,labeling_config.xml}
(copied from this repository), DIR/corpus/articles.jsonl (N articles of 30–50 sentences,
about 4–7 KB each, like the seed articles), and one Label Studio full-JSON export,
DIR/annotations/exports/project-1-20260101T000000Z.json (with `--deltas D`: the same final state
as a base snapshot and D delta snapshots, as incremental pulls write them), with K human annotations per
task (spans with per-region evidence choices, article-level choices), a model prediction
on every task, about 3% cancelled annotations and 5% of tasks with a ground-truth flag.
Annotators mostly agree, so aggregation and agreement see realistic overlap. Seeded: the
same arguments give the same files. The text is random words, not health claims.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from builders.build.snapshots import record_snapshot, snapshot_entry, write_index
from builders.labelstudio.results import choice_result, span_results
from builders.project import load_project

REPO = Path(__file__).resolve().parents[1]
PROJECT = 1
MODEL_VERSION = "bench-model-v1"
CLAIM_TYPES = [
    "efficacy",
    "mechanism",
    "safety",
    "comparative",
    "procedure",
    "regulatory",
    "background",
    "recommendation",
]
EVIDENCE = ["none", "anecdote", "vague_appeal", "specific_unverifiable", "verifiable_citation", "not_applicable"]
RISKS = [
    "side_effects",
    "contraindications",
    "misuse_potential",
    "regulatory_status",
    "medical_supervision",
    "evidence_limitations",
    "long_term_unknowns",
]
CRITERIA = ["satisfactory", "not_satisfactory", "not_applicable"]
WORDS = (
    "ketamine therapy infusion patients symptoms anxiety depression treatment research study clinic dose "
    "brain receptor glutamate effects relief weeks hours doctor safety risk evidence trial approved "
    "provider mood attention focus chronic pain results benefit long term side nausea dizziness"
).split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 24))]
    return " ".join(words).capitalize() + "."


def article_text(rng: random.Random, index: int) -> str:
    paragraphs = []
    for _ in range(rng.randint(6, 9)):
        paragraphs.append(" ".join(sentence(rng) for _ in range(rng.randint(4, 6))))
    # A unique opening sentence keeps every text distinct (the corpus refuses duplicates).
    return f"Synthetic article number {index}.\n" + "\n".join(paragraphs)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for i, char in enumerate(text):
        if char == ".":
            while start < i and text[start] in " \n":
                start += 1
            spans.append((start, i))
            start = i + 1
    return spans


def span_items(rng: random.Random, text: str, spans, prefix: str, base_labels: dict) -> list[dict]:
    items = []
    for n, (start, end) in enumerate(spans):
        if rng.random() < 0.06:  # this annotator skips a claim the others marked
            continue
        if rng.random() < 0.10:  # boundary disagreement: drop a few trailing words
            end = max(start + 5, text.rfind(" ", start, end - 1))
        claim, evidence = base_labels[(start, spans[n][1])]
        if rng.random() < 0.15:
            claim = rng.choice(CLAIM_TYPES)
        if rng.random() < 0.20:
            evidence = rng.choice(EVIDENCE)
        items.extend(span_results(f"{prefix}{n}", start, end, text[start:end], claim, evidence, origin="manual"))
    return items


def article_items(rng: random.Random, prefix: str, base: dict) -> list[dict]:
    risks = [r for r in base["risks"] if rng.random() > 0.1] + [r for r in RISKS if rng.random() < 0.05]
    ticked = sorted(set(risks), key=RISKS.index)
    # Label Studio leaves out a checklist with nothing ticked rather than exporting it empty.
    checklist = [choice_result(f"{prefix}r", "risk_disclosures", ticked)] if ticked else []
    harms = base["harms"] if rng.random() > 0.2 else rng.choice(CRITERIA)
    evidence = base["evidence"] if rng.random() > 0.2 else rng.choice(CRITERIA)
    return [
        *checklist,
        choice_result(f"{prefix}h", "harms_explained", [harms]),
        choice_result(f"{prefix}e", "evidence_explained", [evidence]),
    ]


def generate(n_articles: int, n_annotators: int, out: Path, seed: int = 1, deltas: int = 0) -> None:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "corpus").mkdir(parents=True)
    (out / "annotations" / "exports").mkdir(parents=True)
    for rel in ("khc.toml", "datacard.md", "annotations/guidelines.md", "annotations/labeling_config.xml"):
        shutil.copyfile(REPO / rel, out / rel)
    declare_project(out, PROJECT, MODEL_VERSION)
    guideline = "1.1.0"
    tasks = []  # kept only for a history with deltas; a single snapshot is streamed (N=100,000 is ~7 GB)
    annotation_id = 0
    snapshot = out / "annotations" / "exports" / "project-1-20260101T000000Z.json"
    with (
        (out / "corpus" / "articles.jsonl").open("w", encoding="utf-8") as corpus,
        snapshot.open("w", encoding="utf-8") as handle,
    ):
        handle.write("[")
        for i in range(1, n_articles + 1):
            article_id = f"khc-{i:06d}"
            text = article_text(rng, i)
            digest = hashlib.sha256(text.encode()).hexdigest()
            corpus.write(
                json.dumps(
                    {
                        "article_id": article_id,
                        "title": None,
                        "text": text,
                        "text_sha256": digest,
                        "source_file": f"synthetic-{i}.txt",
                        "source_sha256": digest,
                        "url": None,
                        "publisher": None,
                        "published": None,
                        "retrieved": None,
                        "conditions": ["anxiety"],
                        "conditions_rule": "given",
                        "license_note": "synthetic benchmark text",
                        "cleaning": [],
                        "flags": [],
                    }
                )
                + "\n"
            )
            claims = [s for s in sentence_spans(text) if rng.random() < 0.7]
            base_labels = {s: (rng.choice(CLAIM_TYPES), rng.choice(EVIDENCE)) for s in claims}
            base = {
                "risks": [r for r in RISKS if rng.random() < 0.4],
                "harms": rng.choice(CRITERIA),
                "evidence": rng.choice(CRITERIA),
            }
            annotations = []
            truth = rng.random() < 0.05
            for k in range(n_annotators):
                annotation_id += 1
                cancelled = rng.random() < 0.03
                result = (
                    []
                    if cancelled
                    else [*span_items(rng, text, claims, f"a{k}-", base_labels), *article_items(rng, f"a{k}-", base)]
                )
                annotations.append(
                    {
                        "id": annotation_id,
                        "completed_by": f"ann-{k + 1:03d}",
                        "result": result,
                        "was_cancelled": cancelled,
                        "ground_truth": truth and k == 0 and not cancelled,
                        "created_at": "2026-01-01T00:00:00Z",
                        "updated_at": "2026-01-01T00:00:00Z",
                        "lead_time": 60.0,
                        "task": i,
                        "project": 1,
                    }
                )
            prediction = {
                "id": i,
                "model_version": MODEL_VERSION,
                "score": None,
                "result": [*span_items(rng, text, claims, "p-", base_labels), *article_items(rng, "p-", base)],
            }
            task = {
                "id": i,
                "project": 1,
                "annotations": annotations,
                "predictions": [prediction],
                "data": {
                    "text": text,
                    "article_id": article_id,
                    "text_sha256": digest,
                    "guideline_version": guideline,
                },
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
            }
            if deltas:
                tasks.append(task)
            else:  # the bytes json.dump(tasks) would write, one task at a time
                handle.write((", " if i > 1 else "") + json.dumps(task))
        handle.write("]")
    if deltas:
        snapshot.unlink()
        write_history(out, tasks, deltas)
        return
    record_snapshot(load_project(out), snapshot, PROJECT, "full", "2026-01-01T00:00:00.000000Z")


def write_history(out: Path, tasks: list[dict], deltas: int) -> None:
    """The same final state as a base snapshot and `deltas` delta snapshots, as incremental pulls
    write them: delta j holds the tasks whose number is j modulo 100 (1 % of them), whose first
    answered annotation the base holds in an earlier version (its last result missing) beside
    an annotation the delta records as deleted; a delta's tasks leave out the text their hash
    pins. The build makes the dataset of the single full snapshot (tests/build/test_snapshots_delta.py)."""
    if not 0 < deltas < 60:
        raise SystemExit("--deltas takes 1 to 59")
    folder = out / "annotations" / "exports"
    earlier, base_at = "2025-12-01T00:00:00Z", "2025-12-31T00:00:00.000000Z"
    next_id = max((a["id"] for t in tasks for a in t["annotations"]), default=0)
    base, changed = [], {j: [] for j in range(1, deltas + 1)}
    for task in tasks:
        j = task["id"] % 100
        answered = [a for a in task["annotations"] if a["result"]]
        if j not in changed or not answered:
            base.append(task)
            continue
        next_id += 1
        old = {**answered[0], "result": answered[0]["result"][:-1], "updated_at": earlier}
        gone = {**old, "id": next_id, "completed_by": "ann-999"}
        annotations = [old if a is answered[0] else a for a in task["annotations"]] + [gone]
        base.append({**task, "annotations": annotations, "updated_at": earlier})
        changed[j].append(({**task, "data": {k: v for k, v in task["data"].items() if k != "text"}}, next_id))
    entries = {"project-1-20251231T000000Z.json": snapshot_entry(PROJECT, "full", base_at, high_water=base_at)}
    (folder / "project-1-20251231T000000Z.json").write_text(json.dumps(base), encoding="utf-8")
    since = base_at
    for j, held in changed.items():
        at = f"2026-01-01T00:00:{j:02d}.000000Z"
        name = f"project-1-delta-20260101T0000{j:02d}Z.json"
        (folder / name).write_text(json.dumps([task for task, _ in held]), encoding="utf-8")
        deleted = {"annotations": sorted(gone for _, gone in held), "predictions": []}
        entries[name] = snapshot_entry(PROJECT, "delta", at, since=since, high_water=at, deleted=deleted)
        since = at
    write_index(folder, entries)


def declare_project(root: Path, ls_project: int, model_version: str) -> None:
    """Declare the Label Studio project and the current model version in the copied khc.toml."""
    settings = root / "khc.toml"
    text = settings.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^projects = .*$", f"projects = [{ls_project}]", text)
    text = re.sub(r"(?m)^model_version = .*$", f'model_version = "{model_version}"', text)
    settings.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, required=True, help="number of articles (tasks)")
    parser.add_argument("--annotators", type=int, default=3, help="human annotations per task (default 3)")
    parser.add_argument("--out", type=Path, required=True, help="project folder to (re)create")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--deltas", type=int, default=0, help="write a base snapshot and this many delta snapshots (1 %% of tasks each)"
    )
    args = parser.parse_args()
    generate(args.articles, args.annotators, args.out, args.seed, args.deltas)
    print(f"wrote {args.out}: {args.articles} articles, {args.annotators} annotators per task")


if __name__ == "__main__":
    main()
