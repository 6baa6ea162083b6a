"""Incremental pulls: what the snapshots of a project hold, and what a delta records.

A delta snapshot holds the tasks of a project that changed since its previous pull, each a
whole task as Label Studio exports it (every annotation and prediction it holds now, cancelled
ones with `was_cancelled` as Label Studio writes it). Label Studio keeps no record of
deletions, but deleting an annotation or a prediction bumps its task's `updated_at`, so the
task comes back in the next delta: what the snapshots held for it and it no longer holds was
deleted, and the delta records those ids. The state held is read from the project's last full
snapshot and every snapshot after it (by export time): a full snapshot is the whole project, a
delta replaces the tasks it holds, a partial import adds to them.

The next pull asks for the tasks updated after the last pull's high-water mark M (the newest
`updated_at` the server showed when that pull began). A save can be committed after its
`updated_at` was taken, so one in flight then had a time before M and was not yet seen; it
began less than OVERLAP before that moment R (the server's clock, from its HTTP `Date`, to the
second). So the pull lists from min(M, R - OVERLAP - 1 s): everything after M, and whatever was
in flight at R. A project idle for a few seconds before the pull lists only what changed since;
without a recorded server time, from M - OVERLAP. Tasks seen again unchanged are left out by
their `updated_at`. A deleted task leaves nothing to compare: when the project
holds fewer tasks than the snapshots do, the pull is a full one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from builders.build.read import iter_tasks
from builders.build.snapshots import find_snapshots, parse_time, utc_stamp
from builders.project import Project

OVERLAP = timedelta(seconds=5)  # longest time from a save's `updated_at` to its commit
CLOCK_STEP = timedelta(seconds=1)  # HTTP `Date` counts whole seconds, taken after the answer's query
CACHE_DIR = ".khc-cache"  # git-ignored; only time depends on it


@dataclass
class TaskState:
    updated_at: datetime | None
    annotations: dict[int, tuple[object, bool]] = field(default_factory=dict)  # id → (updated_at, cancelled)
    predictions: set[int] = field(default_factory=set)


@dataclass
class Held:
    """One project as its snapshots hold it, and the high-water mark of its last pull."""

    tasks: dict[int, TaskState] = field(default_factory=dict)
    since: datetime | None = None
    listed_after: datetime | None = None  # what the next pull lists tasks updated after
    exported_at: str = ""  # of the project's latest snapshot
    files: list[list] = field(default_factory=list)  # [name, size, mtime] of the snapshots read, in order

    @property
    def annotations(self) -> dict[int, tuple[object, bool]]:
        return {aid: state for task in self.tasks.values() for aid, state in task.annotations.items()}

    def fold(self, tasks: Iterable[object], coverage: str) -> None:
        """Take in one snapshot's tasks (`coverage` says how, see the module's docstring)."""
        for task in tasks:
            state = task_state(task)
            if state is None:
                continue  # not a readable task: the build names it
            tid, state = state
            if coverage == "partial" and tid in self.tasks:
                old = self.tasks[tid]
                state.annotations = old.annotations | state.annotations
                state.predictions |= old.predictions
            self.tasks[tid] = state


def task_state(task: object) -> tuple[int, TaskState] | None:
    if not isinstance(task, dict) or not _is_id(task.get("id")):
        return None
    state = TaskState(parse_time(task.get("updated_at")))
    for annotation in task.get("annotations") or []:
        if isinstance(annotation, dict) and _is_id(annotation.get("id")):
            state.annotations[annotation["id"]] = (
                annotation.get("updated_at"),
                annotation.get("was_cancelled") is True,
            )
    for prediction in task.get("predictions") or []:
        pid = prediction.get("id") if isinstance(prediction, dict) else prediction
        if _is_id(pid):
            state.predictions.add(pid)
    return task["id"], state


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def held_state(project: Project, project_id: int) -> Held | None:
    """The project as its snapshots hold it; None when it has no full snapshot (the first pull).
    What was read is cached (git-ignored `.khc-cache/`), keyed by the snapshots' names, sizes and
    modification times, so the next pull reads only the snapshots written since."""
    snapshots, _problems = find_snapshots(project)  # other files are the build's to refuse
    mine = [s for s in snapshots if s.ls_project == project_id]
    fulls = [i for i, s in enumerate(mine) if s.coverage == "full"]
    if not fulls:
        return None
    mine = mine[fulls[-1] :]
    files = [[s.path.name, s.path.stat().st_size, s.path.stat().st_mtime_ns] for s in mine]
    cache = project.root / CACHE_DIR / f"pull-state-v1-project-{project_id}.json"
    held, done = _cached(cache, files)
    held.files = files
    for snapshot in mine[done:]:
        held.fold(iter_tasks(snapshot.path, snapshot.shown), snapshot.coverage)
    if done < len(mine):
        _save(cache, files, held)
    marks = [(parse_time(s.high_water), parse_time(s.server_time)) for s in mine if s.high_water is not None]
    if not marks:  # a full snapshot written before pulls recorded their mark: its newest task stands in
        marks = [(t.updated_at, None) for t in held.tasks.values() if t.updated_at is not None]
    held.since, clock = max(marks, key=lambda mark: mark[0], default=(None, None))
    if held.since is not None:
        held.listed_after = min(held.since, clock - OVERLAP - CLOCK_STEP) if clock else held.since - OVERLAP
    held.exported_at = mine[-1].exported_at
    return held


def remember(project: Project, project_id: int, held: Held, written: Path) -> None:
    """After a pull wrote `written` (the project's newest snapshot), cache the state `held` (the
    snapshots read before, with `written`'s tasks folded in), so that the next pull need not read
    it back."""
    files = [*held.files, [written.name, written.stat().st_size, written.stat().st_mtime_ns]]
    _save(project.root / CACHE_DIR / f"pull-state-v1-project-{project_id}.json", files, held)


def _cached(cache: Path, files: list[list]) -> tuple[Held, int]:
    """The held state of the first snapshots of `files` as cached, and how many it covers."""
    try:
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved["files"] != files[: len(saved["files"])]:
            return Held(), 0
        tasks = {
            int(tid): TaskState(parse_time(updated), {int(a): (u, c) for a, (u, c) in ann.items()}, set(pred))
            for tid, (updated, ann, pred) in saved["tasks"].items()
        }
        return Held(tasks), len(saved["files"])
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: read the snapshots again
        return Held(), 0


def _save(cache: Path, files: list[list], held: Held) -> None:
    tasks = {
        tid: [utc_stamp(t.updated_at) if t.updated_at else None, t.annotations, sorted(t.predictions)]
        for tid, t in held.tasks.items()
    }
    try:
        cache.parent.mkdir(exist_ok=True)
        tmp = cache.with_name(cache.name + ".tmp")
        tmp.write_text(json.dumps({"files": files, "tasks": tasks}), encoding="utf-8")
        tmp.replace(cache)
    except OSError:  # only time depends on the cache
        pass


def changed(held: Held, listed: Iterable[tuple[int, datetime]]) -> list[int]:
    """The listed tasks that are new or whose `updated_at` differs from the copy held."""
    return sorted(tid for tid, updated in listed if tid not in held.tasks or held.tasks[tid].updated_at != updated)


def deletions(held: Held, tasks: list[dict]) -> dict[str, list[int]]:
    """The annotation and prediction ids the snapshots held for these tasks that they lack now."""
    annotations, predictions = set(), set()
    for task in tasks:
        now = task_state(task)
        if now is None or now[0] not in held.tasks:
            continue
        before = held.tasks[now[0]]
        annotations |= set(before.annotations) - set(now[1].annotations)
        predictions |= before.predictions - now[1].predictions
    return {"annotations": sorted(annotations), "predictions": sorted(predictions)}


def count_changes(old: dict[int, tuple[object, bool]], current: list[dict], removed: int | None = None) -> dict:
    """New, updated, cancelled and removed annotations of `current` (tasks) against `old`."""
    new = {aid: state for task in current if (s := task_state(task)) for aid, state in s[1].annotations.items()}
    return count_changes_of(old, new, removed)


def count_changes_of(
    old: dict[int, tuple[object, bool]], new: dict[int, tuple[object, bool]], removed: int | None = None
) -> dict:
    """New, updated, cancelled and removed annotations of `new` against `old` (all of a
    project's annotations held before; id → (updated_at, cancelled)); `removed` is a delta's
    recorded deletions, else every annotation of `old` that `new` (a full export) lacks."""
    counts = {
        "new": 0,
        "updated": 0,
        "cancelled": 0,
        "removed": len(set(old) - set(new)) if removed is None else removed,
    }
    for aid, (updated, cancelled) in new.items():
        if aid not in old:
            counts["new"] += 1
        elif updated != old[aid][0]:
            counts["updated"] += 1
        if cancelled and not (aid in old and old[aid][1]):
            counts["cancelled"] += 1
    return counts
