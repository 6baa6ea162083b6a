"""The reader's path for a task decoded into typed structs (builders/build/decode.py).

Most tasks are well formed: their fields have the right types, every label is in the schema and
every span's offsets give its text. `read_typed` confirms that for a whole task, checking its
spans' offsets together (builders/build/offsets.py: `exact_places`), and only then records the
task's rows and counts, exactly as the per-field path (builders/build/reader.py) would. At the
first thing it would have to report, repair or list as skipped it records nothing and returns
False, and the task is read by the per-field path, whose messages and repairs are the reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import UNSET

from builders.build.decode import Annotation, Item, Prediction, Task
from builders.build.fields import PSEUDONYM
from builders.build.labels import human_unit, model_uid, model_unit, provenance
from builders.build.offsets import exact_places
from builders.build.parse import UNKNOWN_ORIGIN
from builders.build.prediction import fingerprint_of
from builders.build.snapshots import parse_time
from builders.corpus.records import sha256_text
from builders.schema import CLAIM_TYPE, FAMILY_BY_NAME, RESULT_ORIGIN_CODES

if TYPE_CHECKING:
    from builders.build.reader import Keeps, TaskReader

SpanRows = tuple[list, list, list, list, list, list]  # region ids, starts, ends, texts, claim types, origins


class Answers:
    """One result list, checked: its spans as columns, its evidence and article-level answers."""

    __slots__ = ("article", "article_origin", "evidence", "evidence_origin", "spans")

    def __init__(self) -> None:
        self.spans: SpanRows = ([], [], [], [], [], [])
        self.evidence: dict[object, int] = {}
        self.evidence_origin: dict[object, int] = {}
        self.article: dict[str, list[int]] = {}
        self.article_origin: dict[str, int] = {}


def read_typed(reader: TaskReader, task: Task, index: int, shown: str, ls_project: int | None, keeps: Keeps) -> bool:
    """Read a typed task into `reader` if nothing in it needs a message; else record nothing, False."""
    steps = _steps(reader, task, index, shown, ls_project, keeps)
    if steps is None:
        return False
    for kind, unit, answers in steps:
        if kind == "unit":
            reader.accept_answers(unit, answers)
        elif kind == "cancelled":
            reader.counts["cancelled_annotations"] += 1
            reader.report["cancelled"].append(unit)
        elif kind == "prediction":
            if reader.copies.first_copy_of(unit, answers[0], shown, ""):
                reader.accept_answers(unit, answers[1])
        else:
            reader.counts[kind] += 1
    return True


def _steps(reader: TaskReader, task: Task, index: int, shown: str, ls_project: int | None, keeps: Keeps):
    """What reading the task records, in order, or None if anything needs the per-field path."""
    context = _context(reader, task, index, shown, ls_project)
    if context is None:
        return None
    text = reader.texts[context["article_id"]]
    steps: list[tuple] = []
    every = []  # every result list's answers: their spans are checked together
    for annotation in task.annotations or ():
        step = _annotation(annotation, context, keeps)
        if step is None:
            return None
        steps.append(step)
        if step[0] == "unit":
            every.append(step[2])
    copies: set[str] = set()
    for prediction in task.predictions or ():
        step = _prediction(reader, prediction, context, copies)
        if step is None:
            return None
        steps.append(step)
        if step[0] == "prediction":
            every.append(step[2][1])
    starts = [s for answers in every for s in answers.spans[1]]
    ends = [e for answers in every for e in answers.spans[2]]
    texts = [t for answers in every for t in answers.spans[3]]
    if not exact_places(text, starts, ends, texts):
        return None
    return steps


def _context(reader: TaskReader, task: Task, index: int, shown: str, ls_project: int | None) -> dict | None:
    """The fields every unit of the task shares (as `TaskReader._task_context` makes them)."""
    if ls_project is not None and (task.id is None or (task.project is not UNSET and task.project != ls_project)):
        return None  # no task id, or a task of another project: the per-field path says so
    data = task.data
    expected = reader.hashes.get(data.article_id)
    if expected is None:
        return None
    if data.text is None:
        if data.text_sha256 != expected:
            return None
    elif sha256_text(data.text) != expected:
        return None
    project = ls_project if ls_project is not None else (None if task.project is UNSET else task.project)
    return {
        "article_id": data.article_id,
        "ls_project_id": project,
        "ls_task_id": task.id,
        "guideline_version": data.guideline_version,
        "labeling_config_sha256": data.labeling_config_sha256,
        **provenance(project, task.id, shown, index),
    }


def _annotation(annotation: Annotation, context: dict, keeps: Keeps) -> tuple | None:
    if keeps is not None and not keeps((context["ls_project_id"], annotation.id)):
        return ("annotations_not_newest", None, None)
    if annotation.was_cancelled:
        return ("cancelled", {"source": context["read_from"], "ls_annotation_id": annotation.id}, None)
    if not PSEUDONYM.match(annotation.completed_by):
        return None
    for moment in (annotation.created_at, annotation.updated_at):
        if moment is not None and parse_time(moment) is None:
            return None
    answers = _answers(annotation.result)
    if answers is None:
        return None
    unit = human_unit(
        context,
        annotation.id,
        annotator=annotation.completed_by,
        ground_truth=bool(annotation.ground_truth),
        parent_prediction=annotation.parent_prediction,
        created_at=annotation.created_at,
        updated_at=annotation.updated_at,
    )
    return ("unit", unit, answers)


def _prediction(reader: TaskReader, prediction: Prediction | int, context: dict, copies: set) -> tuple | None:
    if isinstance(prediction, int):  # Label Studio's own export lists prediction ids only
        return ("prediction_ids_without_content", None, None)
    model_version = prediction.model_version
    if not model_version:
        return None
    if reader.model_versions and model_version not in reader.model_versions:
        return ("predictions_not_current", None, None)
    uid = model_uid(model_version, context["article_id"])
    fingerprint = fingerprint_of(prediction.result)
    seen = reader.copies.seen.get(uid)
    if uid in copies or (seen is not None and seen[1] != fingerprint):
        return None  # two copies in one task, or a copy that labels the article differently
    copies.add(uid)
    answers = _answers(prediction.result)
    if answers is None:
        return None
    unit = model_unit(context, model_version, prediction.id, prediction.created_at, prediction.updated_at)
    return ("prediction", unit, (fingerprint, answers))


def _answers(result: list[Item]) -> Answers | None:
    """The result list's labels, as `parse.parse_result` reads them, or None where it would
    record a problem (offsets are checked later, with the task's other spans)."""
    answers = Answers()
    regions, starts, ends, texts, types, origins = answers.spans
    places: set[tuple[int, int]] = set()
    for item in result:
        family = FAMILY_BY_NAME.get(item.from_name)
        if family is None:
            return None
        value, codes, kind = item.value, family.codes, family.kind
        values = value.labels if family is CLAIM_TYPE else value.choices
        if not values:  # absent or empty
            return None
        code = codes.get(values[0])
        if code is None or (len(values) > 1 and (kind != "multi_choice" or not all(v in codes for v in values))):
            return None  # a value not in the schema, or several where the schema allows one
        origin = RESULT_ORIGIN_CODES.get(item.origin, UNKNOWN_ORIGIN)
        if kind == "span_label":
            start, end = value.start, value.end
            if start is UNSET or end is UNSET or value.text is UNSET or (start, end) in places:
                return None
            places.add((start, end))
            regions.append(item.id)
            starts.append(start)
            ends.append(end)
            texts.append(value.text)
            types.append(code)
            origins.append(origin)
        elif kind == "region_choice":
            if item.id in answers.evidence:
                return None
            answers.evidence[item.id] = code
            answers.evidence_origin[item.id] = origin
        else:
            if value.start is not UNSET or family.name in answers.article:
                return None
            answers.article[family.name] = list(dict.fromkeys(codes[v] for v in values))
            answers.article_origin[family.name] = origin
    if len(set(regions)) < len(regions) or not answers.evidence.keys() <= set(regions):
        return None  # two spans with one region id, or evidence without a span
    return answers
