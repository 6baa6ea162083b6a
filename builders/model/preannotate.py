"""`khc preannotate --model models/VERSION [ARTICLE_ID ...]`: the baseline's Label Studio predictions.

Writes `annotations/predictions/<model_version>.json` in the task-import shape of
`builders/labelstudio/preannotate.py` (result items from `builders/labelstudio/results.py`),
with the model's version and a `score` per region and per task. They are predictions, so
they enter Label Studio as predictions (never annotations) and the dataset as
`origin = model`; a human annotation of the same task is never replaced, and human labels
win aggregation over model labels. Without article ids: every article that has no
prediction of any version yet. A file of the same version already there is merged: its
other articles are kept.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from builders.corpus.records import load_corpus
from builders.errors import KhcError, Problem
from builders.labelstudio.labelconfig import labeling_config_sha256
from builders.labelstudio.push import pre_annotations
from builders.labelstudio.results import choice_result, span_results, task_data
from builders.model.predict import ArticlePrediction, predict
from builders.model.store import load
from builders.progress import note
from builders.project import MARKER, Project
from builders.schema import ARTICLE_FAMILIES, CLAIM_TYPE, EVIDENCE


def result_of(article_id: str, found: ArticlePrediction) -> list[dict]:
    result: list[dict] = []
    for number, span in enumerate(found.spans, start=1):
        items = span_results(
            f"{article_id}-b{number:03d}",
            span["start"],
            span["end"],
            span["text"],
            span[CLAIM_TYPE.name],
            span[EVIDENCE.name],
        )
        for item in items:
            item["score"] = round(span["score"], 4)
        result.extend(items)
    for family in ARTICLE_FAMILIES:
        if family.name in found.answers:
            values, score = found.answers[family.name]
            item = choice_result(f"{article_id}-{family.name}", family.name, values)
            item["score"] = round(score, 4)
            result.append(item)
    return result


def task_score(result: list[dict]) -> float | None:
    """Mean score of the task's regions and answers (a span's two items count once)."""
    scores = {(r["id"]): r["score"] for r in result if "score" in r}
    return round(float(np.mean(list(scores.values()))), 4) if scores else None


def choose_articles(project: Project, corpus_ids: list[str], named: list[str]) -> list[str]:
    if named:
        unknown = sorted(set(named) - set(corpus_ids))
        if unknown:
            raise KhcError(
                Problem(
                    f"articles {unknown} are not in the corpus",
                    project.rel(project.corpus_file),
                    fix="name articles by their article_id (corpus/articles.jsonl), or add them with khc ingest",
                )
            )
        return sorted(set(named))
    have = pre_annotations(project)
    return [a for a in corpus_ids if a not in have]


def preannotate_with_model(
    project: Project, model_dir: Path, named: list[str]
) -> tuple[Path, dict, list[str], list[str]]:
    """(predictions file, card, articles written, articles with nothing predicted)."""
    fitted, card = load(model_dir, project.guideline_version())
    corpus = load_corpus(project)
    chosen = choose_articles(project, corpus["article_id"].tolist(), named)
    rows = corpus[corpus["article_id"].isin(set(chosen))].sort_values("article_id")
    note(f"predicting for {len(rows)} articles with {card['model_version']}")
    make = _task_maker(rows, card["model_version"], project.guideline_version())
    found = predict(fitted, rows[["article_id", "text"]], notes=True, then=make) if len(rows) else {}
    note("writing the predictions")
    out = project.predictions_dir / f"{card['model_version']}.json"
    tasks: dict[str, dict | str] = _existing(out, project)
    empty = [a for a in rows["article_id"] if found[a] is None]
    tasks.update((a, line) for a, line in found.items() if line is not None)
    skipped = set(empty)
    written = [a for a in chosen if a not in skipped]
    if written:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.tmp")
        write_task_lines(tmp, [tasks[a] for a in sorted(tasks)])
        tmp.replace(out)
    return out, card, written, empty


def _task_maker(rows: pd.DataFrame, model_version: str, guideline_version: str):
    """(article_id, prediction) → the task's line of the predictions file, or None when nothing
    is predicted (an empty prediction would decide the article has no claims: it is left out).
    Called in the worker that predicted the article (predict's `then`): only the line comes back."""
    config_sha256 = labeling_config_sha256()  # once, not per task
    by_id = {row.article_id: row for row in rows.itertuples(index=False)}

    def make(article_id: str, found: ArticlePrediction) -> str | None:
        result = result_of(article_id, found)
        if not result:
            return None
        task = {
            "data": task_data(by_id[article_id], guideline_version, config_sha256),
            "predictions": [{"model_version": model_version, "score": task_score(result), "result": result}],
        }
        return task_line(task)

    return make


def task_line(task: dict) -> str:
    return json.dumps(task, ensure_ascii=False, separators=(",", ":"))


def write_task_lines(path: Path, tasks: list[dict | str]) -> None:
    """A JSON array with one task per line (a task given as a dict, or as its `task_line`): diffs
    stay per article, and each line is encoded by the standard library's C encoder (an indented
    dump goes through its pure-Python one: 4 ms a task). Written line by line: the file is never
    held whole in memory (about 29 KB a generated article)."""
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for number, task in enumerate(tasks):
            out.write(",\n" if number else "")
            out.write(task if isinstance(task, str) else task_line(task))
        out.write("\n]\n")


def _existing(path: Path, project: Project) -> dict[str, dict]:
    if not path.is_file():
        return {}
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
        return {t["data"]["article_id"]: t for t in tasks}
    except (ValueError, KeyError, TypeError) as exc:
        raise KhcError(
            Problem(
                f"cannot merge with the predictions already there: {exc}",
                project.rel(path),
                fix="restore the file from git (it is written by khc preannotate), or delete it to start over",
            )
        ) from exc


def declare_model_version(project: Project, version: str) -> bool:
    """Add `version` after the declared model versions in khc.toml (`[labelstudio] model_version`),
    so its predictions reach Label Studio and the build where no preferred version has one. Returns
    whether the file changed; the line is rewritten in place, every other line kept."""
    if version in project.labelstudio.model_versions:
        return False
    marker = project.root / MARKER
    text = marker.read_text(encoding="utf-8")
    versions = [*project.labelstudio.model_versions, version]
    line = "model_version = [" + ", ".join(f'"{v}"' for v in versions) + "]"
    if re.search(r"(?m)^model_version = .*$", text):
        text = re.sub(r"(?m)^model_version = .*$", lambda _m: line, text, count=1)
    elif re.search(r"(?m)^\[labelstudio\]\s*$", text):
        text = re.sub(r"(?m)^\[labelstudio\]\s*$", lambda _m: "[labelstudio]\n" + line, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n[labelstudio]\n" + line + "\n"
    marker.write_text(text, encoding="utf-8")
    return True
