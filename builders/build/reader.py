"""The reader's per-task work: a Label Studio task → rows of the label tables.

`TaskReader` checks a task against the corpus (article known, text unchanged), makes one unit
row per annotation and prediction with its provenance (fields checked by builders/build/fields.py),
and hands each result list to `parse.parse_result`. Accepted labels go into `LabelRows`
(builders/build/labels.py) as ClassLabel codes. Problems are collected, never raised; with
`skip_invalid` an annotation or task that cannot be read is left out and listed instead.
An annotation that answers nothing is no answer: counted and listed, never a unit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from builders.build import fields
from builders.build.fields import FieldError
from builders.build.labels import LabelRows, human_unit, model_unit, provenance
from builders.build.parse import FIX_REPULL, Parsed, Where, parse_result
from builders.build.prediction import PredictionCopies
from builders.corpus.records import sha256_text
from builders.errors import Problem
from builders.schema import ARTICLE_FAMILIES, HUMAN, MODEL

if TYPE_CHECKING:
    from builders.build.typed import Answers

Keeps = Callable[[tuple[int, int]], bool] | None


class ArticleTexts:
    """`texts[article_id]`: the article's text, made a Python string when a task asks for it. A
    dict of every text as Python strings would hold the corpus a second time beside the frame's
    Arrow column (at 100,000 articles, half a gigabyte) for the whole read."""

    def __init__(self, corpus: pd.DataFrame):
        self.row = {article_id: i for i, article_id in enumerate(corpus["article_id"].tolist())}
        self.column = corpus["text"]

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.row

    def __getitem__(self, article_id: str) -> str:
        return self.column.iat[self.row[article_id]]


class TaskReader:
    """Reads tasks into `rows`; collects problems instead of stopping at the first."""

    def __init__(self, corpus: pd.DataFrame, *, model_versions: tuple[str, ...] = (), skip_invalid: bool = False):
        self.texts = ArticleTexts(corpus)
        self.hashes = dict(zip(corpus["article_id"], corpus["text_sha256"], strict=True))
        self.model_versions = model_versions
        self.skip_invalid = skip_invalid
        self.rows = LabelRows()
        self.problems: list[Problem] = []
        self.counts: Counter = Counter()
        self.report: dict[str, list] = {"repairs": [], "cancelled": []}
        self.copies = PredictionCopies(self)

    def problem(self, what: str, file: str, record: str, fix: str | None = None) -> None:
        self.problems.append(Problem(what, file, record, fix))

    def listed(self, kind: str, entry: dict) -> None:
        self.counts[kind] += 1
        self.report.setdefault(kind, []).append(entry)

    def read_task(self, task: object, index: int, shown: str, ls_project: int | None, keeps: Keeps) -> None:
        """One task; `ls_project` is the snapshot's project (None for a predictions file) and
        `keeps(key)` says whether an annotation's version here is the one the index chose."""
        before = len(self.problems)
        context = self._task_context(task, index, shown, ls_project)
        if context is not None:
            where = context.pop("where")
            for annotation in task.get("annotations") or []:
                self.read_annotation(annotation, context, shown, where, keeps)
            for prediction in task.get("predictions") or []:
                if not isinstance(prediction, dict):  # Label Studio's own export lists prediction ids only
                    self.counts["prediction_ids_without_content"] += 1
                    continue
                self.read_prediction(prediction, context, shown, where)
        self._skip_if_asked(before)

    def _task_context(self, task: object, index: int, shown: str, ls_project: int | None) -> dict | None:
        task_id = task.get("id") if isinstance(task, dict) else None
        where = f"task {task_id}" if task_id is not None else f"task #{index}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            fix = FIX_REPULL
            if isinstance(task, dict) and "text" in task:
                fix = (
                    "this looks like a JSON-MIN export; export with Label Studio's 'JSON' format, then `khc ls import`"
                )
            self.problem("not a task object with a 'data' field", shown, where, fix)
            return None
        try:
            if ls_project is not None or task_id is not None:  # an import-format predictions file has no ids
                task_id = fields.integer_id(task_id, "the task id")
            for name in ("annotations", "predictions"):
                if not isinstance(task.get(name) or [], list):
                    raise FieldError(f"'{name}' is {type(task[name]).__name__}, not a list")
        except FieldError as exc:
            self.problem(str(exc), shown, where, exc.fix)
            return None
        article_id = self._article_of(task["data"], shown, where)
        if article_id is None:
            return None
        return {
            "where": f"{where} (article {article_id})",
            "article_id": article_id,
            "ls_project_id": ls_project if ls_project is not None else task.get("project"),
            "ls_task_id": task_id,
            "guideline_version": task["data"].get("guideline_version"),
            "labeling_config_sha256": task["data"].get("labeling_config_sha256"),
            **provenance(ls_project if ls_project is not None else task.get("project"), task_id, shown, index),
        }

    def _article_of(self, data: dict, shown: str, where: str) -> str | None:
        """The task's article, if it is in the corpus with exactly this text."""
        article_id = data.get("article_id")
        if not isinstance(article_id, str):
            self.problem(
                "the task has no data.article_id, so it is not from this project's Label Studio tasks",
                shown,
                where,
                "push the corpus with `khc ls push` and export that project; other projects' exports do not belong",
            )
            return None
        where = f"{where} (article {article_id})"
        if article_id not in self.texts:
            self.problem(
                f"article {article_id} is not in the corpus",
                shown,
                where,
                "ingest the article first (khc ingest), or remove this export if it belongs to another corpus",
            )
            return None
        task_text = data.get("text")
        if task_text is None and data.get("text_sha256") == self.hashes[article_id]:
            return article_id  # a delta snapshot leaves out the text its hash pins (labelstudio/pull.py)
        if not isinstance(task_text, str):
            self.problem("the task has no data.text", shown, where, FIX_REPULL)
            return None
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
                return None
        return article_id

    def read_annotation(self, annotation: object, context: dict, shown: str, where: str, keeps: Keeps) -> None:
        if not isinstance(annotation, dict):
            self.problem(f"an annotation is {type(annotation).__name__}, not an object", shown, where, FIX_REPULL)
            return
        where = f"{where}, annotation {annotation.get('id')}"
        try:
            annotation_id = fields.integer_id(annotation.get("id"), "the annotation id")
            cancelled = fields.flag(annotation.get("was_cancelled"), "was_cancelled")
            if keeps is not None and not keeps((context["ls_project_id"], annotation_id)):
                self.counts["annotations_not_newest"] += 1
                return
            if cancelled:
                self.counts["cancelled_annotations"] += 1
                self.report["cancelled"].append({"source": context["read_from"], "ls_annotation_id": annotation_id})
                return
            unit = human_unit(
                context,
                annotation_id,
                annotator=fields.pseudonym(annotation.get("completed_by")),
                ground_truth=fields.flag(annotation.get("ground_truth"), "ground_truth"),
                parent_prediction=_optional_id(annotation.get("parent_prediction"), "parent_prediction"),
                created_at=fields.timestamp(annotation.get("created_at"), "created_at"),
                updated_at=fields.timestamp(annotation.get("updated_at"), "updated_at"),
            )
        except FieldError as exc:
            self.problem(str(exc), shown, where, exc.fix)
            return
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
        if self.model_versions and model_version not in self.model_versions:
            self.counts["predictions_not_current"] += 1  # history: another model version than khc.toml's
            return
        unit = model_unit(
            context, model_version, prediction.get("id"), prediction.get("created_at"), prediction.get("updated_at")
        )
        if self.copies.first_copy(unit, prediction, shown, where):
            self.read_result(unit, prediction.get("result"), shown, where)

    def read_result(self, unit: dict, result: object, shown: str, where: str) -> None:
        """Parse one annotation's or prediction's result list and keep its labels."""
        text = self.texts[unit["article_id"]]
        parsed = parse_result(result, text, Where(shown, where, unit["read_from"]), self)
        if parsed is None:
            return
        if not parsed.regions and not parsed.article:  # an empty submission answers nothing
            kind = "empty_annotations" if unit["origin"] == HUMAN else "empty_predictions"
            self.listed(kind, {"source": unit["read_from"], "annotation_uid": unit["annotation_uid"]})
            return
        self.accept(unit, parsed, text)

    def accept(self, unit: dict, parsed: Parsed, text: str) -> None:
        """Add a parsed annotation: its spans with their evidence, and its article answers."""
        self.counts["spans_without_evidence"] += self.rows.add_spans(unit["annotation_uid"], parsed, text)
        self._add_unit(unit, parsed.article, parsed.article_origin)

    def accept_answers(self, unit: dict, answers: Answers) -> None:
        """A typed task's result list, checked by builders/build/typed.py: kept as `read_result`
        keeps a parsed one."""
        if not answers.spans[0] and not answers.article:  # an empty submission answers nothing
            kind = "empty_annotations" if unit["origin"] == HUMAN else "empty_predictions"
            self.listed(kind, {"source": unit["read_from"], "annotation_uid": unit["annotation_uid"]})
            return
        self.counts["spans_without_evidence"] += self.rows.add_span_rows(unit["annotation_uid"], answers)
        self._add_unit(unit, answers.article, answers.article_origin)

    def _add_unit(self, unit: dict, article: dict[str, list[int]], article_origin: dict[str, int]) -> None:
        # An annotation that answers no article-level question has not judged the article:
        # its checklist is null (unanswered), not an empty list (nothing disclosed).
        for family in ARTICLE_FAMILIES:
            answer = article.get(family.name)
            if family.kind == "multi_choice":
                unit[family.name] = sorted(answer or []) if article else None
            else:
                unit[family.name] = answer[0] if answer else None
            unit[f"{family.name}_origin"] = article_origin.get(family.name)
        self.rows.add_unit(unit)

    def _skip_if_asked(self, before: int) -> None:
        """With `skip_invalid`, the problems of this task leave its unreadable annotations out
        (one entry per annotation or task: file, record, reasons) instead of stopping the build."""
        if not self.skip_invalid or len(self.problems) == before:
            return
        entries: dict[tuple, dict] = {}
        for problem in self.problems[before:]:
            record = (problem.record or "").split(", region ")[0]  # the annotation, not its region
            entry = entries.setdefault((problem.file, record), {"file": problem.file, "record": record, "reason": ""})
            entry["reason"] = f"{entry['reason']}; {problem.what}" if entry["reason"] else problem.what
        for entry in entries.values():
            self.listed("skipped_invalid", entry)
        del self.problems[before:]

    def one_model_per_article(self, units: pd.DataFrame, spans: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One model version per article: the first of the declared versions that has a prediction for
        it (the others are counted as predictions_not_current)."""
        if len(self.model_versions) < 2:
            return units, spans
        rank = units["model_version"].map({v: i for i, v in enumerate(self.model_versions)})
        model = units["origin"] == MODEL
        best = rank[model].groupby(units.loc[model, "article_id"]).transform("min")
        dropped = units.loc[model[model].index[rank[model] != best], "annotation_uid"]
        if dropped.empty:
            return units, spans
        self.counts["predictions_not_current"] += len(dropped)
        units = units[~units["annotation_uid"].isin(dropped)].reset_index(drop=True)
        return units, spans[~spans["annotation_uid"].isin(dropped)].reset_index(drop=True)

    def one_per_annotator(self, units: pd.DataFrame, spans: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One person is one annotator per article across the declared projects: where a pseudonym
        has several annotations of one article, the most recently updated counts (listed)."""
        human = units[units["origin"] == HUMAN]
        order = human.sort_values(["article_id", "annotator", "updated_at", "annotation_uid"], na_position="first")
        older = order.duplicated(["article_id", "annotator"], keep="last")
        if not older.any():
            return units, spans
        dropped = order.loc[older, "annotation_uid"]
        for uid in dropped:
            self.listed("same_annotator_superseded", {"annotation_uid": uid})
        units = units[~units["annotation_uid"].isin(dropped)].reset_index(drop=True)
        return units, spans[~spans["annotation_uid"].isin(dropped)].reset_index(drop=True)


def _optional_id(value: object, name: str) -> int | None:
    return None if value is None else fields.integer_id(value, name)
