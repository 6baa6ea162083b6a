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

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import ijson
import pandas as pd

from builders.build.labels import Labels
from builders.build.parse import FIX_REPULL
from builders.build.reader import TaskReader
from builders.errors import KhcError, Problem
from builders.progress import progress
from builders.project import Project
from builders.schema import HUMAN, MODEL


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


def read_labels(project: Project, corpus: pd.DataFrame) -> Labels:
    """Read every export and prediction file; raise KhcError listing every problem."""
    exports, predictions = discover(project)
    reader = TaskReader(corpus)
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
                extra=lambda: f"{len(reader.rows.units)} annotations and predictions, {reader.rows.n_spans} spans",
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

    duplicates = Counter(u["annotation_uid"] for u in reader.rows.units if u["origin"] == HUMAN)
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

    units, spans = reader.rows.tables()
    reader.counts["annotations_read"] = int((units["origin"] == HUMAN).sum())
    reader.counts["predictions_read"] = int((units["origin"] == MODEL).sum())
    reader.counts["spans_read"] = len(spans)
    return Labels(units=units, spans=spans, counts=reader.counts, report=reader.report)
