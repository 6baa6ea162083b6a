"""`khc snapshots compact`: a project's snapshots folded into one full snapshot.

Every snapshot of the project (full, partial, delta) is merged as the build merges them
(builders/build/index.py): each annotation's winning version, none that a later snapshot says
is gone; every task with its fields as its latest copy has them and every prediction any copy
holds (the build reads the first copy of a prediction, so none is lost). The result is written
like a pull's snapshot, with the latest export time and high-water mark of those it replaces,
and the folded files leave the folder and the index in the same install: the build then makes
the same dataset (its rows' `source` names the new file). Git keeps the folded files' history.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from builders.build.index import build_index
from builders.build.read import check_bounds, iter_tasks
from builders.build.snapshots import Snapshot, find_snapshots, parse_time, snapshot_entry
from builders.errors import KhcError, fail
from builders.labelstudio.spill import Spill, spill_file
from builders.labelstudio.storing import dumps_task, snapshot_chunks
from builders.labelstudio.writing import finish_interrupted, write_snapshot
from builders.lock import locked
from builders.project import Project


@dataclass
class Compacted:
    path: Path | None  # None: nothing to fold
    folded: list[str]
    tasks: int
    annotations: int


@locked("khc snapshots compact")
def compact(project: Project, project_id: int, *, compress: bool = False, now: datetime | None = None) -> Compacted:
    finish_interrupted(project)
    snapshots, problems = find_snapshots(project)
    if problems:
        raise KhcError(problems)
    mine = [s for s in snapshots if s.ls_project == project_id]
    if not any(s.coverage == "full" for s in mine):
        fail(
            f"project {project_id} has no full snapshot to fold its other snapshots into",
            file=project.rel(project.exports_dir),
            fix=f"pull it in full first: khc ls pull --project-id {project_id} --full",
        )
    if len(mine) < 2:
        return Compacted(None, [], 0, 0)
    for snapshot in mine:
        check_bounds(snapshot.path, snapshot.shown)
    index = build_index(mine, lambda s: iter_tasks(s.path, s.shown))
    if index.problems:
        raise KhcError(index.problems)
    marked = [s for s in mine if s.high_water]
    newest = max(marked, key=lambda s: parse_time(s.high_water)) if marked else None
    entry = snapshot_entry(
        project_id,
        "full",
        mine[-1].exported_at,
        high_water=newest.high_water if newest else None,
        server_time=newest.server_time if newest else None,  # where the next pull lists from
    )
    folded = [s.path.name for s in mine]
    counted = {"tasks": 0, "annotations": 0}
    with spill_file(project, f"project-{project_id}-compact") as spill:
        for position, snapshot in enumerate(mine):
            for task in iter_tasks(snapshot.path, snapshot.shown):
                if isinstance(task, dict):
                    spill.add(task.get("id"), [position, task])
        texts = (dumps_task(task) for task in _merged_tasks(mine, index.keeps, spill, counted))
        out = write_snapshot(project, project_id, snapshot_chunks(texts), now, entry, kind="-compact",
                             compress=compress, replaces=folded)  # fmt: skip
    return Compacted(out, [s.shown for s in mine], counted["tasks"], counted["annotations"])


def _merged_tasks(snapshots: list[Snapshot], keeps, spill: Spill, counted: dict[str, int]) -> Iterator[dict]:
    """Every task once, in id order (its latest copy's fields), with the winning annotations and
    all predictions: merged from its copies in the spill, one task at a time."""
    for tid in sorted(spill.where, key=lambda tid: str(tid).zfill(20)):
        merged: dict = {}
        annotations, predictions = {}, {}
        for position, task in spill.get(tid):
            snapshot = snapshots[position]
            data = {**merged.get("data", {}), **(task.get("data") or {})}  # a delta's copy may lack the text
            merged.update({k: v for k, v in task.items() if k not in ("annotations", "predictions")}, data=data)
            for annotation in task.get("annotations") or []:
                if keeps((snapshot.ls_project, annotation.get("id")), position):
                    annotations[annotation.get("id")] = annotation
            for prediction in task.get("predictions") or []:
                pid = prediction.get("id") if isinstance(prediction, dict) else prediction
                predictions.setdefault(pid, prediction)
        counted["tasks"] += 1
        counted["annotations"] += len(annotations)
        yield {**merged, "annotations": _in_order(annotations), "predictions": _in_order(predictions)}


def _in_order(items: dict) -> list:
    return [items[k] for k in sorted(items, key=lambda k: str(k).zfill(20))]
