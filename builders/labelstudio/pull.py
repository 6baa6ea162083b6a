"""`khc ls pull`: a Label Studio project → a new, pseudonymised export snapshot.

The project is exported in Label Studio's full JSON format. Before anything touches the
disk, every field is kept only if it is on the whitelist below (user references such as
`updated_by`, drafts and comment authors go), `completed_by` becomes a stable pseudonym,
and the prediction ids Label Studio lists are replaced by the predictions themselves
(fetched from the same project), so the snapshot stands alone. The snapshot is written
to a temporary file and renamed into `annotations/exports/project-ID-TIMESTAMP.json`; an
existing snapshot is never rewritten, and an interrupted pull leaves no file behind.

Pseudonyms (`ann-001`, ...) are kept in a map outside the repository (see `pseudonyms`),
so the same person keeps the same pseudonym across pulls; `completed_by` is only ever
written as such a pseudonym.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from builders.build.read import iter_tasks
from builders.build.snapshots import Coverage, read_index, record_snapshot, utc_stamp
from builders.corpus.records import load_corpus
from builders.errors import KhcError, fail
from builders.labelstudio.connection import NOT_LABEL_STUDIO, Connection
from builders.labelstudio.pseudonyms import PSEUDONYM, Pseudonyms, default_map_path, locked
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
    path: Path
    tasks: int
    annotations: int
    changes: dict[str, int] = field(default_factory=dict)


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
    def index(tasks: list) -> dict[int, dict]:
        return {a["id"]: a for t in tasks for a in t.get("annotations", [])}

    old, new = index(previous or []), index(current)
    counts = {"new": 0, "updated": 0, "cancelled": 0, "removed": len(set(old) - set(new))}
    for aid, a in new.items():
        if aid not in old:
            counts["new"] += 1
        elif a.get("updated_at") != old[aid].get("updated_at"):
            counts["updated"] += 1
        if a.get("was_cancelled") and not (aid in old and old[aid].get("was_cancelled")):
            counts["cancelled"] += 1
    return counts


@project_locked("khc ls pull")
def pull(
    project: Project, conn: Connection, project_id: int, *, map_path: Path | None = None, now: datetime | None = None
) -> PullResult:
    map_path = map_location(project, map_path)
    conn.call(
        f"looked up project {project_id}",
        lambda: conn.client.projects.get(project_id),
        not_found=f"there is no project {project_id} on Label Studio at {conn.url}",
    )
    if project_id not in project.labelstudio.projects:
        declared = ", ".join(map(str, project.labelstudio.projects)) or "none"
        fail(
            f"Label Studio project {project_id} is not one of this dataset's projects (declared: {declared})",
            file=project.rel(project.root / MARKER),
            fix=f"if it belongs to this dataset, add it to `projects` under [labelstudio] in {MARKER} "
            f"(e.g. projects = [{project_id}]), commit that, and pull again",
        )
    tasks = export(conn, project_id)
    return store(project, conn, project_id, tasks, map_path, now)


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
) -> PullResult:
    """Pseudonymise a project's exported tasks and write them as a new recorded snapshot (the
    common part of `khc ls pull` and `khc ls import`)."""
    check_articles(project, tasks, project_id)
    predictions = list_predictions(conn, project_id)
    users = list_users(conn)
    with locked(map_path):
        names = Pseudonyms(map_path)
        clean = pseudonymise(tasks, predictions, users, names, server=conn.url)
        text = json.dumps(clean, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        check_pseudonymised(clean, text, users)
        names.save()  # before the snapshot: a pseudonym in a snapshot is always in the map
    out, before = write_snapshot(project, project_id, text, now, coverage=coverage, exported_at=exported_at, kind=kind)
    n_annotations = sum(len(t["annotations"]) for t in clean)
    return PullResult(path=out, tasks=len(clean), annotations=n_annotations, changes=changes_since(before, clean))


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


def export(conn: Connection, project_id: int) -> list[dict]:
    """The project's full JSON export: a list of tasks, each an object with lists of objects."""
    raw = conn.call(
        f"exported project {project_id}",
        lambda: b"".join(
            conn.client.projects.exports.download_sync(project_id, export_type="JSON", download_all_tasks=True)
        ),
    )
    try:
        tasks = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fail(
            f"the export of project {project_id} from {conn.url} is not JSON ({exc})",
            fix="retry; if it persists, see the server's log",
        )
    if not isinstance(tasks, list) or not all(_is_task(t) for t in tasks):
        what = "tasks of an unexpected shape" if isinstance(tasks, list) else f"a JSON {type(tasks).__name__}"
        fail(
            f"the export of project {project_id} from {conn.url} is not a Label Studio export: it is {what}, "
            "not a list of tasks",
            fix=NOT_LABEL_STUDIO,
        )
    return tasks


def _is_task(task: object) -> bool:
    if not isinstance(task, dict) or not isinstance(task.get("data") or {}, dict):
        return False
    annotations = task.get("annotations") or []
    return isinstance(annotations, list) and all(isinstance(a, dict) for a in annotations)


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


def list_predictions(conn: Connection, project_id: int) -> dict[int, list[dict]]:
    listed = conn.call("listed predictions", lambda: conn.client.predictions.list(project=project_id), expect=list)
    if not all(hasattr(p, "model_dump") and hasattr(p, "task") for p in listed):
        raise KhcError(conn.unexpected("listed predictions"))
    predictions: dict[int, list[dict]] = {}
    for p in listed:
        predictions.setdefault(p.task, []).append(p.model_dump(mode="json"))
    return predictions


def list_users(conn: Connection) -> dict[int, str]:
    listed = conn.call("listed users", lambda: conn.client.users.list(), expect=list)
    if not all(hasattr(u, "id") and hasattr(u, "email") for u in listed):
        raise KhcError(conn.unexpected("listed users"))
    return {u.id: u.email for u in listed}


def check_pseudonymised(clean: list[dict], text: str, users: dict[int, str]) -> None:
    """Safety nets behind the whitelist: no user's address, and only `ann-NNN` as annotator."""
    leaked = [e for e in users.values() if e and e.lower() in text.lower()]
    shapes = {a.get("completed_by") for t in clean for a in t["annotations"]}
    if leaked or not all(isinstance(s, str) and PSEUDONYM.fullmatch(s) for s in shapes):
        fail(
            "the export still names a user after pseudonymisation; nothing was written",
            fix="report this as a bug; do not commit any snapshot of this project",
        )


def write_snapshot(
    project: Project,
    project_id: int,
    text: str,
    now: datetime | None,
    *,
    coverage: Coverage = "full",
    exported_at: str | None = None,
    kind: str = "",
) -> tuple[Path, list | None]:
    """Write a new snapshot (never rewriting one) and record it; returns it and the previous
    snapshot's tasks. `kind` marks the file name of an imported download (`-import`)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    out = project.exports_dir / f"project-{project_id}{kind}-{stamp}.json"
    if out.exists():
        fail(f"{project.rel(out)} exists already; a snapshot is never rewritten", fix="wait a second and pull again")
    before = _previous_tasks(project, project_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial"
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        partial.rename(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # What the build orders and merges snapshots by: project, export time, coverage (a full export).
    record_snapshot(project, out, project_id, coverage, exported_at or utc_stamp(now))
    return out, before


def _previous_tasks(project: Project, project_id: int) -> list | None:
    """The tasks of this project's most recent snapshot by export time (not by file name)."""
    recorded = [
        (entry.get("exported_at", ""), name)
        for name, entry in read_index(project).items()
        if isinstance(entry, dict) and entry.get("ls_project") == project_id
    ]
    if not recorded:
        return None
    path = project.exports_dir / max(recorded)[1]
    return list(iter_tasks(path, project.rel(path))) if path.is_file() else None
