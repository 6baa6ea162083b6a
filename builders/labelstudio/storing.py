"""Writing what a pull or an import exported as a new snapshot, one task at a time.

Every task is pseudonymised on its own as it is written (fields kept only from the whitelists
below, `completed_by` an `ann-NNN` pseudonym, prediction ids replaced by the predictions), so
memory holds one task at a time, never the export: a full pull reads its download back from
disk task by task (builders/labelstudio/fetch.py, `ExportFile`). The bytes are the ones
`json.dumps(tasks, indent=1, ensure_ascii=False, sort_keys=True) + "\\n"` writes for the whole
list (`snapshot_chunks`), so a snapshot is the same whether it was written whole or streamed.
The pseudonym map is saved once every task is written and before the snapshot is renamed into
place (builders/labelstudio/writing.py): a pseudonym in a snapshot is always in the map.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from builders.build.snapshots import Coverage, snapshot_entry, utc_stamp
from builders.corpus.records import load_corpus
from builders.errors import fail
from builders.labelstudio.connection import Connection
from builders.labelstudio.delta import Held, count_changes_of, held_state, remember
from builders.labelstudio.fetch import list_users
from builders.labelstudio.pseudonyms import PSEUDONYM, Pseudonyms, locked
from builders.labelstudio.spill import Spill, spilled_predictions
from builders.labelstudio.writing import write_snapshot
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


def pseudonymise_task(
    task: dict, predictions: Spill | dict[int, list[dict]], users: dict[int, str], names: Pseudonyms, server: str
) -> dict:
    """One task with whitelisted fields only and every `completed_by` an `ann-NNN` pseudonym."""
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
    return kept


def pseudonymise(
    tasks: list, predictions: dict[int, list[dict]], users: dict[int, str], names: Pseudonyms, *, server: str = ""
) -> list:
    """The export with whitelisted fields only and every `completed_by` an `ann-NNN` pseudonym."""
    return [pseudonymise_task(task, predictions, users, names, server) for task in tasks]


def dumps_task(task: dict) -> str:
    return json.dumps(task, indent=1, ensure_ascii=False, sort_keys=True)


def snapshot_chunks(tasks: Iterable[str]) -> Iterator[str]:
    """The text `json.dumps(list, indent=1, ...) + "\\n"` gives a list, from its items' own
    `dumps_task` texts (a JSON string holds no raw line break: indenting lines is safe)."""
    first = True
    for text in tasks:
        yield ("[\n " if first else ",\n ") + text.replace("\n", "\n ")
        first = False
    yield "[]\n" if first else "\n]\n"


def store(
    project: Project,
    conn: Connection,
    project_id: int,
    tasks: Iterable[dict],
    map_path: Path,
    now: datetime | None,
    *,
    coverage: Coverage = "full",
    exported_at: str | None = None,
    kind: str = "",
    predictions: Spill | dict[int, list[dict]] | None = None,
    extra: dict | None = None,
    held: Held | None = None,
    compress: bool = False,
    notes: list[str] | None = None,
    articles: dict[str, str] | None = None,
) -> PullResult:
    """Pseudonymise a project's exported tasks and write them as a new recorded snapshot (the
    common part of `khc ls pull` and `khc ls import`). `tasks` is read twice (a list, or an
    `ExportFile` streamed from disk each time); `extra` goes into its index record; `articles`:
    the corpus's `corpus_hashes` when the caller has read them already (the corpus is read once)."""
    check_articles(tasks, project_id, articles if articles is not None else corpus_hashes(project))
    users = list_users(conn)
    if held is None:
        held = held_state(project, project_id) or Held()
    written = Held()  # what the new snapshot holds, folded in as it is written
    counted = {"tasks": 0, "annotations": 0}

    def texts(names: Pseudonyms) -> Iterator[str]:
        for task in tasks:
            clean = pseudonymise_task(task, predictions, users, names, conn.url)
            text = dumps_task(clean)
            check_pseudonymised(clean, text, users)
            written.fold([clean], "full")
            counted["tasks"] += 1
            counted["annotations"] += len(clean["annotations"])
            yield text

    entry = snapshot_entry(project_id, coverage, exported_at or utc_stamp(now), **(extra or {}))
    with locked(map_path), ExitStack() as stack:
        if predictions is None:  # every prediction of the project: spilled to disk, read back by task
            predictions = stack.enter_context(spilled_predictions(conn, project, project_id))
        names = Pseudonyms(map_path)
        out = write_snapshot(project, project_id, snapshot_chunks(texts(names)), now, entry,
                             kind="-delta" if coverage == "delta" else kind, compress=compress,
                             before_install=names.save)  # fmt: skip
    removed = len((extra or {}).get("deleted", {}).get("annotations", [])) if coverage == "delta" else None
    partial = coverage == "partial"  # never deletes
    changes = count_changes_of(held.annotations, written.annotations, 0 if partial else removed)
    if not kind:  # a pull's snapshot is the project's newest: cached (an import may sort anywhere)
        if coverage == "full":
            held = Held(written.tasks)
        else:
            held.tasks.update(written.tasks)  # a delta replaces the tasks it holds
        remember(project, project_id, held, out)
    return PullResult(out, counted["tasks"], counted["annotations"], changes, coverage, notes or [])


def corpus_hashes(project: Project) -> dict[str, str]:
    """Every article of the corpus (read and checked whole) → its `text_sha256`."""
    corpus = load_corpus(project)
    return dict(zip(corpus["article_id"], corpus["text_sha256"], strict=True))


def check_articles(tasks: Iterable[dict], project_id: int, corpus_ids: Collection[str]) -> None:
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


def check_pseudonymised(clean: dict, text: str, users: dict[int, str]) -> None:
    """Safety nets behind the whitelist, task by task: no user's address, and only `ann-NNN`
    as annotator (an address cannot run across two tasks' texts)."""
    lowered = text.lower()
    leaked = [e for e in users.values() if e and e.lower() in lowered]
    shapes = {a.get("completed_by") for a in clean["annotations"]}
    if leaked or not all(isinstance(s, str) and PSEUDONYM.fullmatch(s) for s in shapes):
        fail(
            "the export still names a user after pseudonymisation; nothing was written",
            fix="report this as a bug; do not commit any snapshot of this project",
        )
