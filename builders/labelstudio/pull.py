"""`khc ls pull`: a Label Studio project → a new, pseudonymised export snapshot.

The project is exported in Label Studio's full JSON format. Before anything touches the
disk, every field is kept only if it is on the whitelist below (user references such as
`updated_by`, drafts and comment authors go), `completed_by` becomes a stable pseudonym,
and the prediction ids Label Studio lists are replaced by the predictions themselves
(fetched from the same project), so the snapshot stands alone. The snapshot is written
to a temporary file and renamed into `annotations/exports/project-ID-TIMESTAMP.json`; an
existing snapshot is never rewritten, and an interrupted pull leaves no file behind.

Pseudonyms (`ann-001`, ...) are kept in a map outside the repository, keyed by the
sha256 of the user's email, so the same person keeps the same pseudonym across pulls.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from builders.corpus.records import load_corpus
from builders.errors import KhcError, Problem
from builders.labelstudio.connection import Connection
from builders.lock import locked
from builders.project import Project

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


def default_map_path() -> Path:
    if os.environ.get("KHC_PSEUDONYM_MAP"):
        return Path(os.environ["KHC_PSEUDONYM_MAP"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "khc" / "pseudonyms.json"


class Pseudonyms:
    """user email → `ann-NNN`, stored as sha256(email) → pseudonym outside the repository."""

    def __init__(self, path: Path):
        self.path = path
        self.map: dict[str, str] = {}
        if path.exists():
            self.map = json.loads(path.read_text(encoding="utf-8")).get("users", {})

    @staticmethod
    def key(email: str) -> str:
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()

    def of(self, email: str) -> str:
        key = self.key(email)
        if key not in self.map:
            self.map[key] = f"ann-{len(self.map) + 1:03d}"
        return self.map[key]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"users": self.map}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.path)


@dataclass
class PullResult:
    path: Path
    tasks: int
    annotations: int
    changes: dict[str, int] = field(default_factory=dict)


def _keep(item: dict, allowed: set[str]) -> dict:
    return {k: v for k, v in item.items() if k in allowed}


def pseudonymise(tasks: list, predictions: dict[int, list[dict]], users: dict[int, str], names: Pseudonyms) -> list:
    clean = []
    for task in tasks:
        kept = _keep(task, TASK_FIELDS)
        annotations = []
        for annotation in task.get("annotations") or []:
            a = _keep(annotation, ANNOTATION_FIELDS)
            user = annotation.get("completed_by")
            user_id = user.get("id") if isinstance(user, dict) else user
            email = users.get(user_id) or f"deleted-user-{user_id}"
            a["completed_by"] = names.of(email)
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


@locked("khc ls pull")
def pull(
    project: Project, conn: Connection, project_id: int, *, map_path: Path | None = None, now: datetime | None = None
) -> PullResult:
    ls = conn.client
    conn.call(
        f"looked up project {project_id}",
        lambda: ls.projects.get(project_id),
        not_found=f"there is no project {project_id} on Label Studio at {conn.url}",
    )
    raw = conn.call(
        f"exported project {project_id}",
        lambda: b"".join(ls.projects.exports.download_sync(project_id, export_type="JSON", download_all_tasks=True)),
    )
    try:
        tasks = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise KhcError(
            Problem(
                f"the export of project {project_id} from {conn.url} is not JSON ({exc.msg})",
                fix="retry; if it persists, see the server's log",
            )
        ) from None
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
        raise KhcError(
            Problem(
                f"project {project_id} holds tasks of articles that are not in the corpus: {listed}",
                fix="delete those tasks in Label Studio, or ingest the articles first (khc ingest)",
            )
        )
    predictions: dict[int, list[dict]] = {}
    for p in conn.call("listed predictions", lambda: ls.predictions.list(project=project_id)):
        predictions.setdefault(p.task, []).append(p.model_dump(mode="json"))
    users = {u.id: u.email for u in conn.call("listed users", lambda: ls.users.list())}
    names = Pseudonyms(map_path or default_map_path())
    clean = pseudonymise(tasks, predictions, users, names)
    text = json.dumps(clean, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    leaked = [e for e in users.values() if e and e.lower() in text.lower()]
    if leaked:  # a safety net behind the whitelist
        raise KhcError(
            Problem(
                "the export still names a user after pseudonymisation; nothing was written",
                fix="report this as a bug; do not commit any snapshot of this project",
            )
        )

    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    out = project.exports_dir / f"project-{project_id}-{stamp}.json"
    if out.exists():
        raise KhcError(
            Problem(
                f"{project.rel(out)} exists already; a snapshot is never rewritten", fix="wait a second and pull again"
            )
        )
    previous = sorted(project.exports_dir.glob(f"project-{project_id}-*.json"))
    before = json.loads(previous[-1].read_text(encoding="utf-8")) if previous else None
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
    names.save()
    n_annotations = sum(len(t["annotations"]) for t in clean)
    return PullResult(path=out, tasks=len(clean), annotations=n_annotations, changes=changes_since(before, clean))
