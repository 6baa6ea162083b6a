"""The annotation index: over all snapshots, which version of each annotation wins.

An annotation is identified by its Label Studio project and id. Its newest version wins, by
`updated_at` (ties: the snapshot exported later). It disappears only when a snapshot of its
project exported after the one its winning version came from says it is gone: a full snapshot
that lacks it, or a delta that records its deletion. A partial snapshot (some tasks) adds and
updates, never deletes; a delta (the tasks changed since the previous pull) adds and updates
like one, and deletes only what it records. So a full pull followed by deltas merges to what
one full pull of the same state holds, by the same content-based order. A cancelled version
is a version like any other: when it wins, the reader counts the annotation as cancelled.
The index is built in a first pass that reads only ids and times; the reader's second pass
keeps the winners. With one full snapshot per project (the usual case) there is nothing to
merge and the first pass is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from builders.build.snapshots import Snapshot, parse_time
from builders.errors import Problem

AnnotationKey = tuple[int, int]  # (Label Studio project, annotation id)
# Counters of the merge: how many copies of a task or an annotation the snapshots held, which
# depends on how the project was pulled (one full export, or a full one and deltas, compacted or
# not), not on what the dataset holds. build_report.json and manifest.json give them; the card,
# part of the dataset, does not (a full pull and its deltas make the same card).
PULL_HISTORY_COUNTS = frozenset(
    {
        "annotation_versions_superseded",
        "annotations_deleted",
        "annotations_not_newest",
        "superseded_snapshots",
        "duplicate_prediction_copies",
        "task_text_crlf",  # counted per copy of a task read (builders/build/reader.py)
    }
)
EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass
class AnnotationIndex:
    """For each annotation, the snapshot (position in export order) its winning version is in;
    and what was superseded or deleted, for the build report."""

    winners: dict[AnnotationKey, int] | None = None  # None: every annotation is read where it is
    deleted: set[AnnotationKey] = field(default_factory=set)
    counts: Counter = field(default_factory=Counter)
    superseded: list[int] = field(default_factory=list)  # snapshots none of whose annotations won
    problems: list[Problem] = field(default_factory=list)  # versions whose time cannot be read

    def keeps(self, key: AnnotationKey, snapshot: int) -> bool:
        if self.winners is None:
            return True
        return key not in self.deleted and self.winners.get(key) == snapshot


def needs_merging(snapshots: list[Snapshot]) -> bool:
    projects = Counter(s.ls_project for s in snapshots)
    return any(n > 1 for n in projects.values()) or any(s.coverage != "full" for s in snapshots)


def build_index(snapshots: list[Snapshot], tasks_of: Callable[[Snapshot], Iterator[object]]) -> AnnotationIndex:
    """Read every snapshot's annotation ids and times (`tasks_of` streams a snapshot's tasks)."""
    if not needs_merging(snapshots):
        return AnnotationIndex()
    best: dict[AnnotationKey, tuple[datetime, int]] = {}
    contents: list[set[AnnotationKey]] = []
    bad_times: list[Problem] = []
    for position, snapshot in enumerate(snapshots):
        present: set[AnnotationKey] = set()
        for number, task in enumerate(tasks_of(snapshot)):
            for key, raw, updated in _versions(task, snapshot.ls_project):
                present.add(key)
                if updated is None:  # which version is newest cannot be decided: never guessed
                    bad_times.append(
                        Problem(
                            f"annotation {key[1]}: updated_at {raw!r} is not an ISO 8601 time, so this version "
                            "cannot be ordered against the annotation's other versions",
                            snapshot.shown,
                            f"task #{number}",
                            "export the project again with `khc ls pull` (never edit a snapshot by hand)",
                        )
                    )
                    updated = EPOCH
                if key not in best or (updated, position) >= best[key]:
                    best[key] = (updated, position)
        contents.append(present)
    index = AnnotationIndex(winners={key: position for key, (_t, position) in best.items()}, problems=bad_times)
    gone = _deletions(snapshots, contents)
    for key, (_updated, position) in best.items():
        if gone[position](key):
            index.deleted.add(key)
    index.counts["annotations_deleted"] = len(index.deleted)
    index.counts["annotation_versions_superseded"] = sum(len(c) for c in contents) - len(best)
    winning = set(index.winners.values())
    index.superseded = [position for position in range(len(snapshots)) if position not in winning]
    return index


def _deletions(snapshots: list[Snapshot], contents: list[set[AnnotationKey]]) -> list[Callable[[AnnotationKey], bool]]:
    """For each position, whether a later snapshot of its project says an annotation is gone:
    the last full one lacks it, or a delta records its deletion (one backward pass)."""
    last_full: dict[int, int] = {}
    deleted: dict[int, frozenset[int]] = {}
    verdicts: list[Callable[[AnnotationKey], bool]] = [lambda _key: False] * len(snapshots)
    for position in range(len(snapshots) - 1, -1, -1):
        project = snapshots[position].ls_project
        full, ids = last_full.get(project), deleted.get(project, frozenset())
        verdicts[position] = lambda key, full=full, ids=ids: (
            (full is not None and key not in contents[full]) or (key[1] in ids)
        )
        snapshot = snapshots[position]
        if snapshot.coverage == "full":
            last_full.setdefault(project, position)
        elif snapshot.coverage == "delta":
            deleted[project] = ids | snapshot.deleted_annotations
    return verdicts


def _versions(task: object, ls_project: int) -> Iterator[tuple[AnnotationKey, object, datetime | None]]:
    """(key, updated_at as written, updated_at parsed) of a task's annotations that have an
    integer id; malformed ones are the reader's to report in its second pass."""
    if not isinstance(task, dict) or not isinstance(task.get("annotations"), list):
        return
    for annotation in task["annotations"]:
        if isinstance(annotation, dict):
            annotation_id = annotation.get("id")
            if isinstance(annotation_id, int) and not isinstance(annotation_id, bool):
                updated = annotation.get("updated_at")
                yield (ls_project, annotation_id), updated, EPOCH if updated is None else parse_time(updated)
