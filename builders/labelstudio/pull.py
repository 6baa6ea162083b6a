"""`khc ls pull`: a Label Studio project → a new, pseudonymised export snapshot.

The project is exported in Label Studio's full JSON format. Before anything is written but
the raw download (a hidden `.partial` file, removed at the end of the pull, by its error
handling, or by the next pull if this one is killed), every field is kept only if it is on the
whitelists of builders/labelstudio/storing.py (user references such as `updated_by`, drafts
and comment authors go), `completed_by` becomes a stable pseudonym, and the prediction ids
Label Studio lists are replaced by the predictions themselves (fetched from the same project),
so the snapshot stands alone. The export is read back from its download task by task, so a
pull's memory does not grow with the project.

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

from datetime import datetime, timedelta
from pathlib import Path

from builders.build.snapshots import parse_time, utc_stamp
from builders.corpus.records import sha256_text
from builders.errors import KhcError, fail
from builders.labelstudio.connection import Connection
from builders.labelstudio.delta import Held, changed, count_changes, deletions, held_state
from builders.labelstudio.fetch import changed_since, downloaded, export_tasks, list_predictions, newest_update
from builders.labelstudio.pseudonyms import default_map_path
from builders.labelstudio.storing import PullResult, corpus_hashes, store
from builders.labelstudio.writing import finish_interrupted
from builders.lock import locked as project_locked
from builders.project import MARKER, Project


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
    mark, clock = newest_update(conn, project_id)  # before anything is exported: see fetch.py
    options = {"compress": compress, "notes": notes, "held": held}
    server_time = utc_stamp(clock) if clock and mark else None  # what the next pull lists from: delta.py
    if held is not None and held.since is not None and not full:
        result = pull_delta(
            project, conn, project_id, getattr(remote, "task_number", None), mark, map_path, now,
            {**options, "server_time": server_time},
        )  # fmt: skip
        if result is not None:
            return result
    high_water = {"high_water": utc_stamp(mark) if mark else None, "server_time": server_time}
    with downloaded(conn, project, project_id) as tasks:  # read from disk task by task
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
    listed = list(changed_since(conn, project_id, held.listed_after))
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
        "server_time": options.pop("server_time"),
        "deleted": deletions(held, tasks),
    }
    # after the snapshots it adds to, whatever this machine's clock says: its deletions apply to them
    exported_at = max(utc_stamp(now), utc_stamp(parse_time(held.exported_at) + timedelta(microseconds=1)))
    predictions = list_predictions(conn, project_id, ids)
    articles = corpus_hashes(project)  # read once: the texts left out here, the articles checked by store
    tasks = without_pinned_texts(articles, tasks)
    result = store(project, conn, project_id, tasks, map_path, now, coverage="delta", exported_at=exported_at,
                   predictions=predictions, extra=record, articles=articles, **options)  # fmt: skip
    result.listed = len(listed)
    return result


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


def without_pinned_texts(hashes: dict[str, str], tasks: list[dict]) -> list[dict]:
    """A delta's tasks without the article text wherever the task's `text_sha256` and the text's
    own hash are the corpus hash (`hashes`: `corpus_hashes`): the corpus holds that text, and the
    build checks the hash."""
    slim = []
    for task in tasks:
        data = task.get("data") or {}
        pinned = hashes.get(data.get("article_id"))
        if pinned and data.get("text_sha256") == pinned and sha256_text(data.get("text") or "") == pinned:
            task = {**task, "data": {k: v for k, v in data.items() if k != "text"}}
        slim.append(task)
    return slim
