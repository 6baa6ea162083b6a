"""The reader's per-task work: a Label Studio task → rows of the label tables.

`TaskReader` checks a task against the corpus (article known, text unchanged), makes one unit
row per annotation and prediction with its provenance, and hands each result list to
`parse.parse_result`. Accepted labels go into `LabelRows` (builders/build/labels.py) as
ClassLabel codes. Problems are collected, never raised: the build reports them all at once.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections import Counter

import pandas as pd

from builders.build.labels import LabelRows
from builders.build.parse import FIX_REPULL, Parsed, Where, parse_result
from builders.corpus.records import sha256_text
from builders.errors import Problem
from builders.schema import ARTICLE_FAMILIES, HUMAN, MODEL

PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TaskReader:
    """Reads tasks into `rows`; collects problems instead of stopping at the first."""

    def __init__(self, corpus: pd.DataFrame):
        self.texts = dict(zip(corpus["article_id"], corpus["text"], strict=True))
        self.hashes = dict(zip(corpus["article_id"], corpus["text_sha256"], strict=True))
        self.rows = LabelRows()
        self.problems: list[Problem] = []
        self.counts: Counter = Counter()
        self.report: dict[str, list] = {"repairs": [], "cancelled": []}
        self.prediction_keys: dict[str, tuple[str, bytes]] = {}  # uid → (first source, fingerprint)

    def problem(self, what: str, file: str, record: str, fix: str | None = None) -> None:
        self.problems.append(Problem(what, file, record, fix))

    # -- one task ---------------------------------------------------------------------
    def read_task(self, task: object, index: int, shown: str, is_export: bool, ls_project: int | None) -> None:
        task_id = task.get("id") if isinstance(task, dict) else None
        where = f"task {task_id}" if task_id is not None else f"task #{index}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            self.problem("not a task object with a 'data' field", shown, where, FIX_REPULL)
            return
        data = task["data"]
        article_id = data.get("article_id")
        if not isinstance(article_id, str):
            self.problem(
                "the task has no data.article_id, so it is not from this project's Label Studio tasks",
                shown,
                where,
                "push the corpus with `khc ls push` and export that project; other projects' exports do not belong",
            )
            return
        where = f"{where} (article {article_id})"
        if article_id not in self.texts:
            self.problem(
                f"article {article_id} is not in the corpus",
                shown,
                where,
                "ingest the article first (khc ingest), or remove this export if it belongs to another corpus",
            )
            return
        task_text = data.get("text")
        if not isinstance(task_text, str):
            self.problem("the task has no data.text", shown, where, FIX_REPULL)
            return
        if sha256_text(task_text) != self.hashes[article_id]:
            if "\r" in task_text and sha256_text(task_text.replace("\r\n", "\n")) == self.hashes[article_id]:
                self.counts["task_text_crlf"] += 1
            else:
                self.problem(
                    "the article text was changed after it was annotated (the task's text hash "
                    f"{sha256_text(task_text)[:12]}… is not the corpus hash {self.hashes[article_id][:12]}…)",
                    shown,
                    where,
                    "restore the article text from git, or ingest the new text as a new article and re-annotate it",
                )
                return
        context = {
            "article_id": article_id,
            "ls_project_id": ls_project if is_export else task.get("project"),
            "ls_task_id": task_id,
            "guideline_version": data.get("guideline_version"),
            "labeling_config_sha256": data.get("labeling_config_sha256"),
            "source": f"{shown}#{index}",
        }
        for annotation in task.get("annotations") or []:
            self.read_annotation(annotation, context, shown, where)
        for prediction in task.get("predictions") or []:
            if not isinstance(prediction, dict):  # Label Studio's own export lists prediction ids only
                self.counts["prediction_ids_without_content"] += 1
                continue
            self.read_prediction(prediction, context, shown, where)

    def read_annotation(self, annotation: dict, context: dict, shown: str, where: str) -> None:
        annotation_id = annotation.get("id")
        where = f"{where}, annotation {annotation_id}"
        if annotation.get("was_cancelled"):
            self.counts["cancelled_annotations"] += 1
            self.report["cancelled"].append({"source": context["source"], "ls_annotation_id": annotation_id})
            return
        annotator = self.pseudonym(annotation.get("completed_by"), shown, where)
        if annotator is None:
            return
        unit = {
            **context,
            "annotation_uid": f"ls-{context['ls_project_id']}-t{context['ls_task_id']}-a{annotation_id}",
            "origin": HUMAN,
            "annotator": annotator,
            "model_version": None,
            "ground_truth": bool(annotation.get("ground_truth", False)),
            "ls_annotation_id": annotation_id,
            "ls_prediction_id": None,
            "created_at": annotation.get("created_at"),
            "updated_at": annotation.get("updated_at"),
        }
        self.read_result(unit, annotation.get("result"), shown, where)

    def read_prediction(self, prediction: dict, context: dict, shown: str, where: str) -> None:
        model_version = prediction.get("model_version")
        where = f"{where}, prediction {prediction.get('id', '')}".rstrip()
        if not isinstance(model_version, str) or not model_version:
            self.problem(
                "the prediction has no model_version",
                shown,
                where,
                "give every pre-annotation a model_version naming the model (or pilot) and guideline version",
            )
            return
        uid = f"model-{model_version}-{context['article_id']}"
        unit = {
            **context,
            "annotation_uid": uid,
            "origin": MODEL,
            "annotator": f"model/{model_version}",
            "model_version": model_version,
            "ground_truth": False,
            "ls_annotation_id": None,
            "ls_prediction_id": prediction.get("id"),
            "created_at": prediction.get("created_at"),
            "updated_at": prediction.get("updated_at"),
        }
        # The same pre-annotation comes back in every export of a project it was pushed to:
        # keep the first copy, and refuse two different labelings under one model_version.
        fingerprint = _fingerprint(prediction.get("result"))
        if uid in self.prediction_keys:
            first_source, first_fingerprint = self.prediction_keys[uid]
            if fingerprint != first_fingerprint:
                self.problem(
                    f"model_version {model_version!r} labels article {context['article_id']} differently here "
                    f"than in {first_source}",
                    shown,
                    where,
                    "give a changed pre-annotation a new model_version",
                )
            else:
                self.counts["duplicate_prediction_copies"] += 1
            return
        self.prediction_keys[uid] = (context["source"], fingerprint)
        self.read_result(unit, prediction.get("result"), shown, where)

    def pseudonym(self, completed_by: object, shown: str, where: str) -> str | None:
        if isinstance(completed_by, bool):  # bool is an int; never a user id
            completed_by = None
        if isinstance(completed_by, int):
            return f"ls-user-{completed_by}"
        if isinstance(completed_by, str) and PSEUDONYM.match(completed_by) and "@" not in completed_by:
            return completed_by
        if isinstance(completed_by, dict):
            self.problem(
                "the annotation carries user details (completed_by is an object, e.g. with an email); "
                "annotator identities must be pseudonymised before anything is written under annotations/",
                shown,
                where,
                "delete this file and export with `khc ls pull`, which replaces users with pseudonyms",
            )
            return None
        self.problem(f"completed_by {completed_by!r} is not a user id or pseudonym", shown, where, FIX_REPULL)
        return None

    def read_result(self, unit: dict, result: object, shown: str, where: str) -> None:
        """Parse one annotation's or prediction's result list and keep its labels."""
        text = self.texts[unit["article_id"]]
        parsed = parse_result(result, text, Where(shown, where, unit["source"]), self)
        if parsed is not None:
            self.accept(unit, parsed, text)

    def accept(self, unit: dict, parsed: Parsed, text: str) -> None:
        """Add a parsed annotation: its spans with their evidence, and its article answers."""
        missing = self.rows.add_spans(unit["annotation_uid"], parsed, text)
        self.counts["spans_without_evidence"] += missing
        # An annotation that answers no article-level question has not judged the article:
        # its checklist is null (unanswered), not an empty list (nothing disclosed).
        for family in ARTICLE_FAMILIES:
            answer = parsed.article.get(family.name)
            if family.kind == "multi_choice":
                unit[family.name] = sorted(answer or []) if parsed.article else None
            else:
                unit[family.name] = answer[0] if answer else None
        self.rows.add_unit(unit)


def _fingerprint(result: object) -> bytes:
    """A digest of a prediction's labels without Label Studio's bookkeeping (ids, scores), to
    compare two copies within one build. Only the digest of the first copy is kept: keeping
    every prediction's result until the end would hold the whole parsed prediction set in memory.
    Items are hashed one by one (order does not matter) with Python's hash, which is stable
    within a process, which is all a comparison within one build needs."""
    if not isinstance(result, list):
        return repr(result).encode()
    hashes = []
    for item in result:
        if isinstance(item, dict):
            value = item.get("value") or {}
            key = (item.get("from_name"), value.get("start"), value.get("end"))
            labels = (_frozen(value.get("labels")), _frozen(value.get("choices")))
            try:
                hashes.append(hash((*key, *labels)))
            except TypeError:  # a value of an unexpected type: fall back to its text
                hashes.append(hash(repr((key, labels))))
    hashes.sort()
    return hashlib.blake2b(array("q", hashes).tobytes(), digest_size=16).digest()


def _frozen(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value
