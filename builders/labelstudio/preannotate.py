"""`khc preannotate SPEC`: readable pre-annotations → Label Studio predictions.

Maintainers (or a model) write pre-annotations as YAML: per article, the article-level
answers and a list of claims, each `[claim_type, evidence, "quoted text"]` or
`{type, evidence, text, occurrence}` when the quoted text occurs more than once. This
command finds every quote in the corpus text, checks every value against the schema and
writes `annotations/predictions/<model_version>.json` in the task format `khc ls push`
imports. These labels are predictions: they enter the dataset with `origin = model`.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from builders.corpus.records import load_corpus
from builders.errors import KhcError, Problem, fail
from builders.labelstudio.labelconfig import labeling_config_sha256
from builders.labelstudio.results import choice_result, span_results
from builders.project import Project
from builders.schema import ARTICLE_FAMILIES, CLAIM_TYPE, EVIDENCE


def _find(text: str, quote: str, occurrence: int) -> int | None:
    """Start of the `occurrence`-th (1-based) place of `quote` in `text`, or None."""
    start = -1
    for _ in range(occurrence):
        start = text.find(quote, start + 1)
        if start == -1:
            return None
    return start


def _claim(raw: object) -> tuple[str, str, str, int | None]:
    if isinstance(raw, list) and len(raw) == 3:
        return raw[0], raw[1], raw[2], None
    if isinstance(raw, dict):
        return raw.get("type"), raw.get("evidence"), raw.get("text"), raw.get("occurrence")
    raise ValueError("a claim is [claim_type, evidence, text] or {type, evidence, text, occurrence}")


def build_predictions(project: Project, spec: dict, shown: str) -> tuple[str, list[dict]]:
    model_version = spec.get("model_version")
    if not isinstance(model_version, str) or not model_version:
        fail("no model_version", file=shown, fix="name the model or pilot and the guideline version")
    guideline_version = spec.get("guideline_version") or project.guideline_version()
    corpus = load_corpus(project).set_index("article_id")
    problems: list[Problem] = []
    tasks = []
    for article_id, labels in sorted((spec.get("articles") or {}).items()):
        if article_id not in corpus.index:
            problems.append(Problem(f"article {article_id} is not in the corpus", shown, article_id))
            continue
        text = corpus.at[article_id, "text"]
        result: list[dict] = []
        taken: dict[tuple[int, int], str] = {}
        for number, raw in enumerate(labels.get("claims") or [], start=1):
            where = f"{article_id}, claim {number}"
            try:
                claim_type, evidence, quote, occurrence = _claim(raw)
            except ValueError as exc:
                problems.append(Problem(str(exc), shown, where))
                continue
            if claim_type not in CLAIM_TYPE.names:
                problems.append(Problem(f"claim_type {claim_type!r} is not in schema v1", shown, where))
                continue
            if evidence not in EVIDENCE.names:
                problems.append(Problem(f"evidence {evidence!r} is not in schema v1", shown, where))
                continue
            count = text.count(quote) if isinstance(quote, str) and quote else 0
            if count == 0:
                problems.append(
                    Problem(
                        f"the quote {quote!r} is not in the article text",
                        shown,
                        where,
                        "copy the quote from corpus/articles.jsonl exactly",
                    )
                )
                continue
            if count > 1 and occurrence is None:
                problems.append(
                    Problem(
                        f"the quote occurs {count} times",
                        shown,
                        where,
                        "write the claim as {type, evidence, text, occurrence: N}",
                    )
                )
                continue
            start = _find(text, quote, occurrence or 1)
            if start is None:
                problems.append(Problem(f"there is no occurrence {occurrence} of the quote", shown, where))
                continue
            end = start + len(quote)
            if (start, end) in taken:
                problems.append(
                    Problem(f"the same text as {taken[(start, end)]}", shown, where, "one claim type per span")
                )
                continue
            taken[(start, end)] = f"claim {number}"
            result.extend(span_results(f"{article_id}-c{number:03d}", start, end, quote, claim_type, evidence))
        for family in ARTICLE_FAMILIES:
            answer = labels.get(family.name)
            values = answer if isinstance(answer, list) else [answer] if answer else []
            bad = [v for v in values if v not in family.names]
            if bad:
                problems.append(Problem(f"{family.name} value {bad[0]!r} is not in schema v1", shown, article_id))
                continue
            if values:
                result.append(choice_result(f"{article_id}-{family.name}", family.name, values))
        tasks.append(
            {
                "data": {
                    "text": text,
                    "article_id": article_id,
                    "text_sha256": corpus.at[article_id, "text_sha256"],
                    "guideline_version": guideline_version,
                    "labeling_config_sha256": labeling_config_sha256(),
                },
                "predictions": [{"model_version": model_version, "score": None, "result": result}],
            }
        )
    if problems:
        raise KhcError(problems)
    return model_version, tasks


def preannotate(project: Project, spec_path: Path) -> Path:
    shown = project.rel(spec_path)
    try:
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        fail(f"cannot read the spec: {exc}", file=shown, fix="check the path and the YAML syntax")
    if not isinstance(spec, dict):
        fail("the spec must be a mapping with model_version and articles", file=shown)
    model_version, tasks = build_predictions(project, spec, shown)
    out = project.predictions_dir / f"{model_version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(tasks, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out
