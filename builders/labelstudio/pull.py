"""`khc ls pull`: a Label Studio project → a new, pseudonymised export snapshot.

The project is exported in Label Studio's full JSON format. Before anything touches the
disk, every field is kept only if it is on the whitelist below (user references such as
`updated_by`, drafts and comment authors go), `completed_by` becomes a stable pseudonym,
and the prediction ids Label Studio lists are replaced by the predictions themselves
(fetched from the same project), so the snapshot stands alone.

The first pull of a project (and `--full`) writes the whole project; later pulls write a delta
of the tasks changed since (builders/labelstudio/delta.py), recorded with what was deleted and
the pull's high-water mark. The snapshot is written to a temporary file, and the new index to
another; then the snapshot is renamed into `annotations/exports/project-ID[-delta]-TIME.json`
(`.json.gz` with `--compress`) and the index into `snapshots.json`. An existing snapshot is never
rewritten; an interrupted pull leaves no file behind, and one killed between the two renames is
finished (or undone) by the next pull, so a snapshot is never left unrecorded or recorded twice.

Pseudonyms (`ann-001`, ...) are kept in a map outside the repository (see `pseudonyms`),
so the same person keeps the same pseudonym across pulls; `completed_by` is only ever
written as such a pseudonym.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from builders.build.snapshots import Coverage, parse_time, snapshot_entry, utc_stamp
from builders.corpus.records import load_corpus, sha256_text
from builders.errors import KhcError, fail
from builders.labelstudio.connection import Connection
from builders.labelstudio.delta import OVERLAP, Held, changed, count_changes, deletions, held_state, remember
from builders.labelstudio.fetch import changed_since, export, export_tasks, list_predictions, list_users, newest_update
from builders.labelstudio.pseudonyms import PSEUDONYM, Pseudonyms, default_map_path, locked
from builders.labelstudio.writing import finish_interrupted, write_snapshot
from builders.lock import locked as project_locked
from builders.project import MARKER, Project

TASK_FIELDS = {
    "id",
    "data",
    "annotations",
    "predictions",
    "project",
    "created_at",
    "updated_at",
    "inner_id",
    "total_annotations",
    "cancelled_annotations",
    "total_predictions",
    "meta",
}
ANNOTATION_FIELDS = {
    "id",
    "completed_by",
    "result",
    "was_cancelled",
    "ground_truth",
    "created_at",
    "updated_at",
    "lead_time",
    "task",
    "project",
    "parent_prediction",
    "parent_annotation",
    "last_action",
    "result_count",
}
PREDICTION_FIELDS = {"id", "model_version", "result", "score", "created_at", "updated_at", "task", "project"}


@dataclass
class PullResult:
    path: Path | None  # None: nothing changed, nothing written
    tasks: int
    annotations: int
    changes: dict[str, int] = field(default_factory=dict)
    coverage: Coverage = "full"
    notes: list[str] = field(default_factory=list)
    listed: int = 0  # a delta's: tasks the server listed as updated since the mark (overlap included)


def _keep(item: dict, allowed: set[str]) -> dict:
    return {k: v for k, v in item.items() if k in allowed}


def pseudonymise(
    tasks: list, predictions: dict[int, list[dict]], users: dict[int, str], names: Pseudonyms, *, server: str = ""
) -> list:
    """The export with whitelisted fields only and every `completed_by` an `ann-NNN` pseudonym."""
    clean = []
    for task in tasks:
        kept = _keep(task, TASK_FIELDS)
        annotations = []
        for annotation in task.get("annotations") or []:
            a = _keep(annotation, ANNOTATION_FIELDS)
            user = annotation.get("completed_by")
            user_id = user.get("id") if isinstance(user, dict) else user
            a["completed_by"] = names.of_user(server, user_id, users.get(user_id))
            annotations.append(a)
        kept["annotations"] = annotations
        kept["predictions"] = [_keep(p, PREDICTION_FIELDS) for p in predictions.get(task.get("id"), [])]
        clean.append(kept)
    return clean


def changes_since(previous: list | None, current: list) -> dict[str, int]:
    """New, updated, cancelled and removed annotations of a full export against an earlier one."""
    held = Held()
    held.fold(previous or [], "full")
    return count_changes(held.annotations, current)


@project_locked("khc ls pull")
def pull(
    project: Project,
    conn: Connection,
    project_id: int,
    *,
    full: bool = False,
    compress: bool = False,
    map_path: Path | None = None,
    now: datetime | None = None,
) -> PullResult:
    """A delta snapshot of what changed since the project's last pull; a full one for its first
    pull, with `full`, or when tasks were deleted in Label Studio."""
    map_path = map_location(project, map_path)
    remote = conn.call(
        f"looked up project {project_id}",
        lambda: conn.client.projects.get(project_id),
        not_found=f"there is no project {project_id} on Label Studio at {conn.url}",
    )
    if getattr(remote, "id", None) != project_id:  # an answer, but not Label Studio's project
        raise KhcError(conn.unexpected(f"looked up project {project_id}"))
    if project_id not in project.labelstudio.projects:
        declared = ", ".join(map(str, project.labelstudio.projects)) or "none"
        fail(
            f"Label Studio project {project_id} is not one of this dataset's projects (declared: {declared})",
            file=project.rel(project.root / MARKER),
            fix=f"if it belongs to this dataset, add it to `projects` under [labelstudio] in {MARKER} "
            f"(e.g. projects = [{project_id}]), commit that, and pull again",
        )
    notes = finish_interrupted(project)
    held = held_state(project, project_id)
    mark = newest_update(conn, project_id)  # before anything is exported: see fetch.py
    options = {"compress": compress, "notes": notes, "held": held}
    if held is not None and held.since is not None and not full:
        result = pull_delta(
            project, conn, project_id, getattr(remote, "task_number", None), mark, map_path, now, options
        )
        if result is not None:
            return result
    tasks = export(conn, project_id)
    high_water = {"high_water": utc_stamp(mark) if mark else None}
    return store(project, conn, project_id, tasks, map_path, now, extra=high_water, **options)


def pull_delta(
    project: Project,
    conn: Connection,
    project_id: int,
    task_number: object,
    mark: datetime | None,
    map_path: Path,
    now: datetime | None,
    options: dict,
) -> PullResult | None:
    """The tasks changed since the last pull as a delta; None when tasks were deleted (a full pull)."""
    held, notes = options["held"], options["notes"]
    listed = list(changed_since(conn, project_id, held.since - OVERLAP))
    ids = changed(held, listed)
    known = set(held.tasks) | {tid for tid, _ in listed}
    tasks = export_tasks(conn, project_id, ids) if ids else []
    if (isinstance(task_number, int) and task_number < len(known)) or len(tasks) < len(ids):
        notes.append(
            "tasks were deleted in Label Studio since the last pull (a deleted task leaves nothing to compare), "
            "so this pull is a full one"
        )
        return None
    if not tasks:
        notes.append(f"nothing changed since the last pull ({utc_stamp(held.since)}): nothing written")
        return PullResult(None, 0, 0, count_changes({}, []), "delta", notes, listed=len(listed))
    record = {
        "since": utc_stamp(held.since),
        "high_water": utc_stamp(max(mark or held.since, held.since)),
        "deleted": deletions(held, tasks),
    }
    # after the snapshots it adds to, whatever this machine's clock says: its deletions apply to them
    exported_at = max(utc_stamp(now), utc_stamp(parse_time(held.exported_at) + timedelta(microseconds=1)))
    predictions = list_predictions(conn, project_id, ids)
    tasks = without_pinned_texts(project, tasks)
    result = store(project, conn, project_id, tasks, map_path, now, coverage="delta", exported_at=exported_at,
                   predictions=predictions, extra=record, **options)  # fmt: skip
    result.listed = len(listed)
    return result


def store(
    project: Project,
    conn: Connection,
    project_id: int,
    tasks: list[dict],
    map_path: Path,
    now: datetime | None,
    *,
    coverage: Coverage = "full",
    exported_at: str | None = None,
    kind: str = "",
    predictions: dict[int, list[dict]] | None = None,
    extra: dict | None = None,
    held: Held | None = None,
    compress: bool = False,
    notes: list[str] | None = None,
) -> PullResult:
    """Pseudonymise a project's exported tasks and write them as a new recorded snapshot (the
    common part of `khc ls pull` and `khc ls import`). `extra` goes into its index record."""
    check_articles(project, tasks, project_id)
    if predictions is None:
        predictions = list_predictions(conn, project_id)
    users = list_users(conn)
    with locked(map_path):
        names = Pseudonyms(map_path)
        clean = pseudonymise(tasks, predictions, users, names, server=conn.url)
        text = json.dumps(clean, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        check_pseudonymised(clean, text, users)
        names.save()  # before the snapshot: a pseudonym in a snapshot is always in the map
    if held is None:
        held = held_state(project, project_id) or Held()
    removed = len((extra or {}).get("deleted", {}).get("annotations", [])) if coverage == "delta" else None
    changes = count_changes(held.annotations, clean, 0 if coverage == "partial" else removed)  # partial: never deletes
    entry = snapshot_entry(project_id, coverage, exported_at or utc_stamp(now), **(extra or {}))
    out = write_snapshot(project, project_id, text, now, entry, kind="-delta" if coverage == "delta" else kind,
                         compress=compress)  # fmt: skip
    if not kind:  # a pull's snapshot is the project's newest: cached (an import may sort anywhere)
        remember(project, project_id, held, out, clean, full=coverage == "full")
    n_annotations = sum(len(t["annotations"]) for t in clean)
    return PullResult(out, len(clean), n_annotations, changes, coverage, notes or [])


def map_location(project: Project, map_path: Path | None) -> Path:
    """The pseudonym map's path; refused inside the project, where it could be committed."""
    path = (map_path or default_map_path()).expanduser().absolute()
    if path.resolve().is_relative_to(project.root.resolve()):
        fail(
            "the pseudonym map is inside the project, where it could be committed or published",
            file=str(path),
            fix=f"move it out of the project (default {default_map_path()}) and pass that path, or unset "
            "KHC_PSEUDONYM_MAP",
        )
    return path


def without_pinned_texts(project: Project, tasks: list[dict]) -> list[dict]:
    """A delta's tasks without the article text wherever the task's `text_sha256` and the text's
    own hash are the corpus hash: the corpus holds that text, and the build checks the hash."""
    corpus = load_corpus(project)
    hashes = dict(zip(corpus["article_id"], corpus["text_sha256"], strict=True))
    slim = []
    for task in tasks:
        data = task.get("data") or {}
        pinned = hashes.get(data.get("article_id"))
        if pinned and data.get("text_sha256") == pinned and sha256_text(data.get("text") or "") == pinned:
            task = {**task, "data": {k: v for k, v in data.items() if k != "text"}}
        slim.append(task)
    return slim


def check_articles(project: Project, tasks: list[dict], project_id: int) -> None:
    corpus_ids = set(load_corpus(project)["article_id"])
    unknown = sorted(
        {
            (t.get("id"), (t.get("data") or {}).get("article_id"))
            for t in tasks
            if (t.get("data") or {}).get("article_id") not in corpus_ids
        },
        key=str,
    )
    if unknown:
        listed = ", ".join(f"task {tid} ({aid or 'no article_id'})" for tid, aid in unknown[:20])
        fail(
            f"project {project_id} holds tasks of articles that are not in the corpus: {listed}",
            fix="delete those tasks in Label Studio, or ingest the articles first (khc ingest)",
        )


def check_pseudonymised(clean: list[dict], text: str, users: dict[int, str]) -> None:
    """Safety nets behind the whitelist: no user's address, and only `ann-NNN` as annotator."""
    leaked = [e for e in users.values() if e and e.lower() in text.lower()]
    shapes = {a.get("completed_by") for t in clean for a in t["annotations"]}
    if leaked or not all(isinstance(s, str) and PSEUDONYM.fullmatch(s) for s in shapes):
        fail(
            "the export still names a user after pseudonymisation; nothing was written",
            fix="report this as a bug; do not commit any snapshot of this project",
        )
