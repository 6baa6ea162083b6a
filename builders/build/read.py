"""Read stage: Label Studio JSON files → flat, validated label tables.

Two kinds of file are read, both in Label Studio's task JSON shape:
- `annotations/exports/*.json`: full JSON export snapshots (tasks with `annotations` and
  `predictions`), written by `khc ls pull` and never edited by hand. A snapshot holds a
  whole project, so for each Label Studio project only its newest snapshot (by file name,
  which starts with the export time) is used; older ones are counted as superseded.
- `annotations/predictions/*.json`: pre-annotations (model labels) in the task import
  format that `khc ls push` sends, with `predictions` and a `model_version`.

Each file is read once. Every problem found is collected and reported together; nothing
is dropped silently: cancelled annotations and repairs are counted by reason.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ijson
import pandas as pd

from builders.corpus.records import sha256_text
from builders.errors import KhcError, Problem
from builders.build.offsets import SpanMismatch, locate_span
from builders.progress import progress
from builders.project import Project
from builders.schema import ARTICLE_FAMILIES, CLAIM_TYPE, EVIDENCE, FAMILY_BY_NAME

SPAN_CHUNK = 100_000  # spans held as Python tuples before they move into a DataFrame chunk
PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
FIX_REPULL = "export the project again with `khc ls pull` (never edit a snapshot by hand)"


@dataclass
class Labels:
    """The validated labels of all files: one row per annotation/prediction, one per span."""

    units: pd.DataFrame
    spans: pd.DataFrame
    counts: Counter = field(default_factory=Counter)
    report: dict[str, list] = field(default_factory=dict)


def discover(project: Project) -> tuple[list[Path], list[Path]]:
    exports = sorted(project.exports_dir.glob("*.json")) if project.exports_dir.exists() else []
    predictions = sorted(project.predictions_dir.glob("*.json")) if project.predictions_dir.exists() else []
    return exports, predictions


def iter_tasks(path: Path, shown: str) -> Iterator[object]:
    """The tasks of one Label Studio JSON file, streamed one at a time (ijson), so memory
    holds one task, not the whole export. Raises KhcError for a file that is not a
    non-empty JSON list."""
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip()
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:].lstrip()
        if head[:1] != b"[":
            raise KhcError(
                Problem(
                    "not a Label Studio JSON export: expected a list of tasks",
                    shown,
                    fix="export with Label Studio's 'JSON' format (not JSON-MIN or CSV), or use `khc ls pull`",
                )
            )
        handle.seek(0)
        count = 0
        try:
            for task in ijson.items(handle, "item", use_float=True):
                count += 1
                yield task
        except ijson.JSONError as exc:
            raise KhcError(Problem(f"not valid JSON after task #{count} ({exc})", shown, fix=FIX_REPULL)) from None
    if count == 0:
        raise KhcError(
            Problem("the export holds no tasks", shown, fix="delete the empty file, or export again after tasks exist")
        )


def first_project(path: Path, shown: str) -> int | None:
    """The Label Studio project of a snapshot, from its first task (the rest is checked while reading)."""
    for task in iter_tasks(path, shown):
        return task.get("project") if isinstance(task, dict) else None
    return None


class _Reader:
    """Flattens tasks into row lists; collects problems instead of stopping at the first."""

    def __init__(self, project: Project, corpus: pd.DataFrame):
        self.project = project
        self.texts = dict(zip(corpus["article_id"], corpus["text"], strict=True))
        self.hashes = dict(zip(corpus["article_id"], corpus["text_sha256"], strict=True))
        self.units: list[dict] = []
        self.spans: list[tuple] = []  # spans not yet moved into a DataFrame chunk
        self.span_chunks: list[pd.DataFrame] = []
        self.n_spans = 0
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
            "origin": "human",
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
            "origin": "model",
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

    # -- one annotation's result list -------------------------------------------------
    def read_result(self, unit: dict, result: object, shown: str, where: str) -> None:
        if not isinstance(result, list):
            self.problem("result is not a list", shown, where, FIX_REPULL)
            return
        text = self.texts[unit["article_id"]]
        spans: dict[str, tuple[int, int, str]] = {}  # region → (start, end, claim_type)
        evidence: dict[str, str] = {}
        article: dict[str, list[str]] = {}
        ok = True
        for item in result:
            if not isinstance(item, dict):
                self.problem("a result item is not an object", shown, where, FIX_REPULL)
                ok = False
                continue
            name, value, region = item.get("from_name"), item.get("value") or {}, item.get("id")
            family = FAMILY_BY_NAME.get(name) if isinstance(name, str) else None
            if family is None:
                self.problem(
                    f"label field {name!r} is not in schema v1 (fields: {', '.join(FAMILY_BY_NAME)})",
                    shown,
                    where,
                    "this export comes from a project with another labeling config; "
                    "use the config from `khc ls config` (khc ls push checks it)",
                )
                ok = False
                continue
            values = value.get("labels" if family is CLAIM_TYPE else "choices")
            if not isinstance(values, list) or not values:
                self.problem(
                    f"{name} result has no {'labels' if family is CLAIM_TYPE else 'choices'}", shown, where, FIX_REPULL
                )
                ok = False
                continue
            try:
                known = family.name_set.issuperset(values)
            except TypeError:  # an unhashable value: not a label
                known = False
            if not known:
                bad = [v for v in values if v not in family.names]
                self.problem(
                    f"{name} value {bad[0]!r} is not in schema v1 (allowed: {', '.join(family.names)})",
                    shown,
                    f"{where}, region {region}",
                    "relabel it in Label Studio with an allowed value, then pull again",
                )
                ok = False
                continue
            if family.kind != "multi_choice" and len(values) != 1:
                self.problem(
                    f"{name} has {len(values)} values {values}; the schema allows one",
                    shown,
                    f"{where}, region {region}",
                    "keep one value (for two claims in one sentence, mark two spans)",
                )
                ok = False
                continue
            if family is CLAIM_TYPE:
                span = self.read_span(unit, region, value, text, shown, where)
                if span is None:
                    ok = False
                elif region in spans:
                    self.problem(f"two spans share the region id {region!r}", shown, where, FIX_REPULL)
                    ok = False
                else:
                    spans[region] = (*span, values[0])
            elif family is EVIDENCE:
                if region in evidence:
                    self.problem(f"region {region!r} has two evidence choices", shown, where, "keep one")
                    ok = False
                evidence[region] = values[0]
            else:
                if "start" in value or name in article:
                    self.problem(f"{name} must be answered once per article, not per span", shown, where, FIX_REPULL)
                    ok = False
                article[name] = list(dict.fromkeys(values))
        orphans = sorted(set(evidence) - set(spans), key=str)
        if orphans:
            self.problem(
                f"evidence choices for regions {orphans} that have no claim span",
                shown,
                where,
                "give the region a claim_type in Label Studio, or delete its evidence choice",
            )
            ok = False
        if not ok:
            return
        seen_offsets: dict[tuple[int, int], str] = {}
        for region, span in spans.items():
            key = span[:2]
            if key in seen_offsets:
                self.problem(
                    f"regions {seen_offsets[key]!r} and {region!r} mark the same text {key[0]}-{key[1]}",
                    shown,
                    where,
                    "delete one of them in Label Studio (one claim type per span)",
                )
                return
            seen_offsets[key] = region
        uid, pending = unit["annotation_uid"], self.spans
        for region, (start, end, claim_type) in spans.items():
            span_evidence = evidence.get(region)
            if span_evidence is None:
                self.counts["spans_without_evidence"] += 1
            # A tuple in SPAN_COLUMNS order: a million spans as dicts cost several hundred MB more.
            pending.append((uid, region, start, end, text[start:end], claim_type, span_evidence))
        self.n_spans += len(spans)
        if len(self.spans) >= SPAN_CHUNK:
            self.flush_spans()
        # An annotation that answers no article-level question has not judged the article:
        # its checklist is null (unanswered), not an empty list (nothing disclosed).
        for family in ARTICLE_FAMILIES:
            answer = article.get(family.name)
            if family.kind == "multi_choice":
                unit[family.name] = sorted(answer or [], key=family.names.index) if article else None
            else:
                unit[family.name] = answer[0] if answer else None
        self.units.append(unit)

    def flush_spans(self) -> None:
        """Move the pending span tuples into a typed DataFrame chunk, so peak memory holds at most
        SPAN_CHUNK Python tuples rather than every span of the corpus."""
        if self.spans:
            self.span_chunks.append(pd.DataFrame.from_records(self.spans, columns=SPAN_COLUMNS))
            self.spans = []

    def read_span(
        self, unit: dict, region: object, value: dict, text: str, shown: str, where: str
    ) -> tuple[int, int] | None:
        """The span's (start, end) in the article, repaired if its offsets are in another
        convention (counted), or None with the problem recorded."""
        start, end, span_text = value.get("start"), value.get("end"), value.get("text")
        # (`where` gets the region only for a problem: formatting it for every span costs time)
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
            self.problem("the span has no integer start/end offsets", shown, f"{where}, region {region}", FIX_REPULL)
            return None
        if not isinstance(span_text, str):
            self.problem(
                "the span has no text, so its offsets cannot be checked", shown, f"{where}, region {region}", FIX_REPULL
            )
            return None
        try:
            fixed_start, fixed_end, repair = locate_span(text, start, end, span_text)
        except SpanMismatch as exc:
            self.problem(
                f"span offsets {start}-{end} do not match the article: {exc}",
                shown,
                f"{where}, region {region}",
                "fix or redraw the span in Label Studio and pull again; the build never guesses a span's place",
            )
            return None
        if repair:
            self.counts[f"span_repaired_{repair}"] += 1
            self.report["repairs"].append(
                {
                    "source": unit["source"],
                    "region_id": region,
                    "reason": repair,
                    "from": [start, end],
                    "to": [fixed_start, fixed_end],
                }
            )
        return fixed_start, fixed_end


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


UNIT_COLUMNS = [
    "annotation_uid",
    "article_id",
    "origin",
    "annotator",
    "model_version",
    "ground_truth",
    "ls_project_id",
    "ls_task_id",
    "ls_annotation_id",
    "ls_prediction_id",
    "guideline_version",
    "labeling_config_sha256",
    "created_at",
    "updated_at",
    *(f.name for f in ARTICLE_FAMILIES),
    "source",
]
SPAN_COLUMNS = ["annotation_uid", "region_id", "start", "end", "text", CLAIM_TYPE.name, EVIDENCE.name]


def read_labels(project: Project, corpus: pd.DataFrame) -> Labels:
    """Read every export and prediction file; raise KhcError listing every problem."""
    exports, predictions = discover(project)
    reader = _Reader(project, corpus)
    newest_by_project: dict[int, Path] = {}
    snapshots: list[tuple[Path, int]] = []
    for path in exports:
        shown = project.rel(path)
        try:
            ls_project = first_project(path, shown)
        except KhcError as exc:
            reader.problems.extend(exc.problems)
            continue
        if not isinstance(ls_project, int):
            reader.problem("the first task names no Label Studio project", shown, "task #0", FIX_REPULL)
            continue
        newest_by_project[ls_project] = path  # files are sorted, so the last one is the newest
        snapshots.append((path, ls_project))

    superseded: list[str] = []
    sources = [(path, True, ls_project) for path, ls_project in snapshots] + [(p, False, None) for p in predictions]
    for path, is_export, ls_project in sources:
        shown = project.rel(path)
        if is_export and newest_by_project[ls_project] != path:
            superseded.append(shown)
            continue
        try:
            tasks = progress(
                iter_tasks(path, shown),
                desc=f"reading {path.name}",
                unit="task",
                extra=lambda: f"{len(reader.units)} annotations and predictions, {reader.n_spans} spans",
            )
            for index, task in enumerate(tasks):
                if is_export and isinstance(task, dict) and task.get("project") != ls_project:
                    reader.problem(
                        f"a task of project {task.get('project')} in the snapshot of project {ls_project}",
                        shown,
                        f"task #{index}",
                        "keep one project per snapshot; `khc ls pull` writes them that way",
                    )
                    continue
                reader.read_task(task, index, shown, is_export, ls_project)
        except KhcError as exc:
            reader.problems.extend(exc.problems)
    reader.counts["superseded_snapshots"] = len(superseded)
    reader.report["superseded_snapshots"] = superseded

    duplicates = Counter(u["annotation_uid"] for u in reader.units if u["origin"] == "human")
    for uid, n in sorted(duplicates.items()):
        if n > 1:
            reader.problem(
                f"annotation {uid} appears {n} times",
                "annotations/exports",
                uid,
                "a snapshot must list each annotation once; export the project again with `khc ls pull`",
            )
    if reader.problems:
        raise KhcError(reader.problems)

    units = pd.DataFrame.from_records(reader.units, columns=UNIT_COLUMNS)
    reader.flush_spans()
    chunks = reader.span_chunks or [pd.DataFrame.from_records([], columns=SPAN_COLUMNS)]
    spans = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    for column in ("ls_project_id", "ls_task_id", "ls_annotation_id", "ls_prediction_id"):
        # Label Studio ids are integers, though some exports write them as strings.
        units[column] = pd.to_numeric(units[column], errors="raise").astype("Int64")
    units["ground_truth"] = units["ground_truth"].astype(bool)
    spans[["start", "end"]] = spans[["start", "end"]].astype("int64")
    reader.counts["annotations_read"] = int((units["origin"] == "human").sum())
    reader.counts["predictions_read"] = int((units["origin"] == "model").sum())
    reader.counts["spans_read"] = len(spans)
    return Labels(units=units, spans=spans, counts=reader.counts, report=reader.report)
