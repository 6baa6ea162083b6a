"""Read stage: Label Studio JSON files → the validated label tables (builders/build/labels.py).

Two kinds of file are read, both in Label Studio's task JSON shape:
- `annotations/exports/`: snapshots written by khc (`khc ls pull`, `khc ls import`), each
  recorded with its project, export time and coverage (builders/build/snapshots.py). They
  are ordered and merged by that content, never by file name (builders/build/index.py).
- `annotations/predictions/*.json`: pre-annotations (model labels) in the task import format
  that `khc ls push` sends, with `predictions` and a `model_version`. Only the model version
  `khc.toml` declares is aggregated; other versions are history, counted and listed.

Reading is bounded (builders/build/guard.py: nesting depth and task size are checked before a
file is parsed) and streamed task by task: each task is decoded into typed structs
(builders/build/decode.py) and a well-formed one read in one go (builders/build/typed.py); any
other task is read field by field (builders/build/reader.py), which gives every message, repair
and listing. Every problem found is collected and reported
together, each naming the file, the record and the fix; with `skip_invalid` the annotations
that cannot be read are left out instead, each listed in the build report. Nothing is dropped
silently: cancelled, empty, superseded and deleted annotations are counted and listed.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import ijson
import numpy as np
import pandas as pd

from builders.build import decode, guard
from builders.build.index import build_index
from builders.build.labels import Labels
from builders.build.parse import FIX_REPULL
from builders.build.reader import TaskReader
from builders.build.snapshots import Snapshot, find_predictions, find_snapshots
from builders.build.typed import read_typed
from builders.errors import KhcError, Problem
from builders.progress import progress
from builders.project import Project
from builders.schema import HUMAN, MODEL

BOM = b"\xef\xbb\xbf"
DECODE_CHUNK = 2**20  # bytes decoded at a time: a few tasks' worth, so the copies a batch needs stay small
FIX_FORMAT = "export with Label Studio's 'JSON' format (not JSON-MIN, CSV or TSV), then `khc ls import FILE`"


def discover(project: Project) -> tuple[list[Path], list[Path]]:
    """(snapshot files in export order, prediction files); raises KhcError for any other entry."""
    snapshots, problems = find_snapshots(project)
    predictions, more = find_predictions(project)
    if problems or more:
        raise KhcError(problems + more)
    return [s.path for s in snapshots], predictions


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _chunks(path: Path) -> Iterator[bytes]:
    with _open(path) as handle:
        yield from _chunks_of(handle)


def check_bounds(path: Path, shown: str) -> guard.Scan:
    """Refuse a file nested deeper or with a larger task than the guard allows, before parsing;
    what the scan found (where its tasks end) otherwise."""
    try:
        found = guard.scan(_chunks(path))
    except (OSError, EOFError, zlib.error) as exc:
        raise KhcError(Problem(f"cannot be read ({exc})", shown, fix=FIX_REPULL)) from None
    if found.too_deep_task is not None:
        raise KhcError(
            Problem(
                f"a value nested more than {guard.MAX_DEPTH} levels deep (Label Studio's exports nest about ten)",
                shown,
                f"task #{found.too_deep_task}",
                "this is not a Label Studio export, or it is damaged: " + FIX_REPULL,
            )
        )
    if found.too_large_task is not None:
        raise KhcError(
            Problem(
                f"a task larger than {guard.MAX_TASK_BYTES // 2**20} MiB",
                shown,
                f"task #{found.too_large_task}",
                "split the article, or check that the export is not damaged: " + FIX_REPULL,
            )
        )
    return found


def iter_tasks(path: Path, shown: str) -> Iterator[object]:
    """The tasks of one Label Studio JSON file (.json or .json.gz), streamed one at a time
    (ijson), so memory holds one task, not the whole export. Raises KhcError for a file that is
    not a non-empty JSON list of tasks, naming what it looks like instead."""
    with _open(path) as handle:
        try:
            head = handle.read(4096)
        except (OSError, EOFError, zlib.error) as exc:
            raise KhcError(Problem(f"cannot be read ({exc})", shown, fix=FIX_REPULL)) from None
        _check_head(head, shown)
        handle.seek(3 if head.startswith(b"\xef\xbb\xbf") else 0)  # a UTF-8 byte-order mark is fine
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


def _check_head(head: bytes, shown: str) -> None:
    if not head.strip():
        raise KhcError(Problem("the file is empty", shown, fix="delete it, and export again with `khc ls pull`"))
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:64]:
        raise KhcError(Problem("the file is UTF-16 text; exports are UTF-8", shown, fix=FIX_FORMAT))
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if start[:1] != b"[":
        raise KhcError(Problem("not a Label Studio JSON export: expected a list of tasks", shown, fix=FIX_FORMAT))


def read_labels(project: Project, corpus: pd.DataFrame, *, skip_invalid: bool = False) -> Labels:
    """Read every snapshot and prediction file; raise KhcError listing every problem (with
    `skip_invalid`, unreadable annotations are left out and listed instead)."""
    snapshots, problems = find_snapshots(project)
    predictions, more = find_predictions(project)
    problems += more
    readable: list[Snapshot] = []
    ends: dict[Path, np.ndarray] = {}  # where each file's tasks end, as the bounds scan found them
    for snapshot in snapshots:
        try:
            ends[snapshot.path] = check_bounds(snapshot.path, snapshot.shown).ends
            readable.append(snapshot)
        except KhcError as exc:
            problems.extend(exc.problems)
    reader = TaskReader(corpus, model_versions=project.labelstudio.model_versions, skip_invalid=skip_invalid)
    try:
        index = build_index(readable, lambda s: iter_tasks(s.path, s.shown))
    except KhcError as exc:
        raise KhcError(problems + exc.problems) from None
    problems += index.problems
    reader.counts.update({k: v for k, v in index.counts.items() if v})
    reader.counts["superseded_snapshots"] = len(index.superseded)
    reader.report["superseded_snapshots"] = [readable[i].shown for i in index.superseded]
    for position, snapshot in enumerate(readable):
        keeps = functools.partial(index.keeps, snapshot=position)
        _read_file(reader, snapshot.path, snapshot.shown, snapshot, keeps, ends[snapshot.path])
    for path in predictions:
        shown = project.rel(path)
        try:
            scan = check_bounds(path, shown)
        except KhcError as exc:
            problems.extend(exc.problems)
            continue
        _read_file(reader, path, shown, None, None, scan.ends)
    problems += reader.problems + _duplicates(reader)
    if problems:
        raise KhcError(problems)
    units, spans = reader.rows.tables()
    units, spans = reader.one_per_annotator(units, spans)
    units, spans = reader.one_model_per_article(units, spans)
    reader.counts["annotations_read"] = int((units["origin"] == HUMAN).sum())
    reader.counts["predictions_read"] = int((units["origin"] == MODEL).sum())
    reader.counts["spans_read"] = len(spans)
    return Labels(units=units, spans=spans, counts=reader.counts, report=reader.report)


def _read_file(reader: TaskReader, path: Path, shown: str, snapshot: Snapshot | None, keeps, ends) -> None:
    ls_project = snapshot.ls_project if snapshot is not None else None
    try:
        tasks = progress(
            iter_elements(path, shown, ends),
            desc=f"reading {path.name}",
            unit="task",
            extra=lambda: f"{len(reader.rows.units)} annotations and predictions, {reader.rows.n_spans} spans",
        )
        for index, element in enumerate(tasks):
            if isinstance(element, decode.Element):
                if element.typed is not None and read_typed(reader, element.typed, index, shown, ls_project, keeps):
                    continue
                element = _value(element, path, shown, index)
            _read_plain(reader, element, index, shown, snapshot, keeps)
    except KhcError as exc:
        reader.problems.extend(exc.problems)


def iter_elements(path: Path, shown: str, ends: np.ndarray | None = None) -> Iterator[decode.Element | object]:
    """The tasks of one file as `iter_tasks` gives them, but each as a `decode.Element` (typed
    decoding; `ends`: where the bounds scan found its tasks to end); from the first place where
    the file is not a clean JSON list on, and for a file with no task, the rest comes from
    `iter_tasks`, with its errors."""
    count = 0
    try:
        with _open(path) as handle:
            head = handle.read(4096)
            _check_head(head, shown)
            bom = len(BOM) if head.startswith(BOM) else 0  # a UTF-8 byte-order mark is fine
            handle.seek(bom)
            chunks = _chunks_of(handle, DECODE_CHUNK)
            for element in decode.elements(chunks, None if ends is None else ends - bom):
                yield element
                count += 1
    except (decode.Irregular, KhcError, OSError, EOFError, zlib.error):
        pass
    else:
        if count:
            return
    yield from itertools.islice(iter_tasks(path, shown), count, None)


def _value(element: decode.Element, path: Path, shown: str, index: int) -> object:
    """The element as ijson reads it; should ijson refuse what msgspec decoded, ijson's own error
    for the file, as reading it with ijson alone gives."""
    try:
        return element.value()
    except decode.Irregular:
        for _task in itertools.islice(iter_tasks(path, shown), index, None):
            pass
        raise KhcError(Problem(f"not valid JSON at task #{index}", shown, fix=FIX_REPULL)) from None


def _chunks_of(handle, size: int = guard.CHUNK) -> Iterator[bytes]:
    while block := handle.read(size):
        yield block


def _read_plain(reader: TaskReader, task: object, index: int, shown: str, snapshot: Snapshot | None, keeps) -> None:
    """One task as plain Python objects, read field by field."""
    ls_project = snapshot.ls_project if snapshot is not None else None
    if snapshot is not None and isinstance(task, dict) and task.get("project", ls_project) != ls_project:
        reader.problem(
            f"a task of project {task.get('project')} in the snapshot of project {snapshot.ls_project}",
            shown,
            f"task #{index}",
            "keep one project per snapshot; `khc ls pull` writes them that way",
        )
        return
    reader.read_task(task, index, shown, ls_project, keeps)


def _duplicates(reader: TaskReader) -> list[Problem]:
    """An annotation listed twice within the snapshots that are read as they are."""
    counted = Counter(u["annotation_uid"] for u in reader.rows.units if u["origin"] == HUMAN)
    return [
        Problem(
            f"annotation {uid} appears {n} times",
            "annotations/exports",
            uid,
            "a snapshot must list each annotation once; export the project again with `khc ls pull`",
        )
        for uid, n in sorted(counted.items())
        if n > 1
    ]
