"""What `khc ls pull` reads from Label Studio: the whole export, or only the tasks that changed.

A full pull streams the project's JSON export (one request, shown as a byte count) to a file,
read back task by task (memory holds one task, not the export). An
incremental pull lists the tasks whose `updated_at` is after a moment (Label Studio's Data
Manager filter `filter:tasks:updated_at`, operator `greater`, value exactly
`%Y-%m-%dT%H:%M:%S.%fZ`), then exports just those tasks, a chunk of ids at a time, in the same
JSON format as the full export. The SDK's `download_sync(ids=...)` sends `ids`, which the
server ignores (it reads `ids[]`, so every task would come back): the ids go as `ids[]`
query parameters instead. The high-water mark of a pull is the newest task `updated_at` on the
server when the pull begins (read before anything is exported, so a change made during the
export is after it and is fetched by the next pull), never this machine's clock; the server's
own clock at that moment (its HTTP `Date`) is recorded beside it (see delta.py for what for).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import ijson

from builders.build.snapshots import parse_time, utc_stamp
from builders.errors import KhcError, fail
from builders.labelstudio.connection import NOT_LABEL_STUDIO, Connection
from builders.labelstudio.spill import partial_file
from builders.progress import progress
from builders.project import Project

CHUNK_TASKS = 200  # task ids per export request: keeps the query string well under URL limits
LIST_PAGE = 1000  # tasks per page of a listing (Community sets no maximum unless TASK_API_PAGE_SIZE_MAX)
# Up to this many changed tasks, their predictions are fetched task by task (listing all of a
# project's predictions takes about 10 ms per task on the server)
PER_TASK_PREDICTIONS = 1000
PARALLEL_REQUESTS = 4
FIX_RETRY = "retry; if it persists, see the server's log"
JSON_KINDS = {
    b"{": "a JSON dict",
    b'"': "a JSON str",
    b"t": "a JSON bool",
    b"f": "a JSON bool",
    b"n": "a JSON NoneType",
}


DOWNLOAD_CHUNK = 1 << 20  # bytes per read of the export's stream


@contextmanager
def downloaded(conn: Connection, project: Project, project_id: int) -> Iterator[ExportFile]:
    """The project's full JSON export, streamed to a hidden `.partial` file of the snapshot folder
    (removed at the end, or by the next pull if this one is killed: `finish_interrupted`) and read
    back task by task: memory never holds the export."""
    with partial_file(project, f"project-{project_id}-download.json") as path:
        with path.open("wb") as handle:

            def download() -> None:
                chunks = conn.client.projects.exports.download_sync(
                    project_id,
                    export_type="JSON",
                    download_all_tasks=True,
                    request_options={"chunk_size": DOWNLOAD_CHUNK},
                )
                for chunk in progress(chunks, desc=f"exporting project {project_id}", unit="chunk", extra=size):
                    handle.write(chunk)

            def size() -> str:
                return f"{handle.tell() / 2**20:.1f} MiB"

            conn.call(f"exported project {project_id}", download)
        yield ExportFile(path, conn.url, project_id)


class ExportFile:
    """A downloaded export, read task by task (ijson) each time it is iterated; a file that is
    not a JSON list of tasks is refused as `_tasks_of` refuses one."""

    def __init__(self, path: Path, url: str, project_id: int):
        self.path, self.url, self.project_id = path, url, project_id

    def __iter__(self) -> Iterator[dict]:
        what = f"the export of project {self.project_id} from {self.url}"
        with self.path.open("rb") as handle:
            start = handle.read(64).lstrip()[:1]
            if start != b"[":
                kind = JSON_KINDS.get(start, "") or ("a JSON number" if start in b"-0123456789" and start else "")
                if kind:
                    fail(
                        f"{what} is not a Label Studio export: it is {kind}, not a list of tasks", fix=NOT_LABEL_STUDIO
                    )
                fail(f"{what} is not JSON (it does not begin with a JSON value)", fix=FIX_RETRY)
            handle.seek(0)
            count = 0
            try:
                for task in ijson.items(handle, "item", use_float=True):
                    if not _is_task(task):
                        fail(f"{what} is not a Label Studio export: it is tasks of an unexpected shape, not a list of "
                             "tasks", fix=NOT_LABEL_STUDIO)  # fmt: skip
                    count += 1
                    yield task
            except ijson.JSONError as exc:
                fail(f"{what} is not JSON after task #{count} ({exc})", fix=FIX_RETRY)


def export_tasks(conn: Connection, project_id: int, task_ids: list[int]) -> list[dict]:
    """The given tasks of the project in the export's JSON format, in chunks (with progress)."""
    tasks: list[dict] = []
    chunks = [task_ids[i : i + CHUNK_TASKS] for i in range(0, len(task_ids), CHUNK_TASKS)]

    def done() -> str:
        return f"{len(tasks)}/{len(task_ids)} tasks"

    for chunk in progress(chunks, desc=f"exporting changed tasks of project {project_id}", unit="chunk", extra=done):
        raw = conn.call(
            f"exported {len(chunk)} changed tasks of project {project_id}",
            lambda chunk=chunk: b"".join(
                conn.client.projects.exports.download_sync(
                    project_id,
                    export_type="JSON",
                    download_all_tasks=True,
                    request_options={"additional_query_parameters": {"ids[]": chunk}},
                )
            ),
        )
        tasks += _tasks_of(conn, project_id, raw)
    return tasks


def newest_update(conn: Connection, project_id: int) -> tuple[datetime | None, datetime | None]:
    """The newest task `updated_at` of the project now (None for a project without tasks), and
    the server's clock when it answered (its HTTP `Date`; None if it sent none)."""
    query = json.dumps({"ordering": ["-tasks:updated_at"]})
    what = f"looked up the newest change of project {project_id}"
    pager = conn.call(
        what, lambda: conn.client.tasks.list(project=project_id, fields="task_only", query=query, page_size=1)
    )
    clock = conn.server_time
    if getattr(getattr(pager, "response", None), "tasks", None) is None:  # not a page of Label Studio's tasks
        raise KhcError(conn.unexpected(what))
    page = conn.call(what, lambda: list(_first(pager)))
    return (_time_of(conn, page[0]) if page else None), clock


def changed_since(conn: Connection, project_id: int, moment: datetime) -> Iterator[tuple[int, datetime]]:
    """(task id, updated_at) of every task updated after `moment`, page by page."""
    condition = {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime"}
    query = json.dumps({"filters": {"conjunction": "and", "items": [{**condition, "value": utc_stamp(moment)}]}})
    listed = conn.call(
        f"listed the tasks of project {project_id} changed since {utc_stamp(moment)}",
        lambda: list(conn.client.tasks.list(project=project_id, fields="task_only", query=query, page_size=LIST_PAGE)),
    )
    for task in listed:
        if not isinstance(getattr(task, "id", None), int):
            raise KhcError(conn.unexpected("listed changed tasks"))
        yield task.id, _time_of(conn, task)


def _first(pager):
    for item in pager:
        yield item
        return


def _time_of(conn: Connection, task: object) -> datetime:
    moment = getattr(task, "updated_at", None)
    moment = parse_time(moment) if not isinstance(moment, datetime) else moment
    if moment is None:
        raise KhcError(conn.unexpected("listed tasks (a task without updated_at)"))
    return moment


def list_predictions(conn: Connection, project_id: int, tasks: list[int] | None = None) -> dict[int, list[dict]]:
    """The project's predictions by task: all of them, or those of `tasks` (task by task when few)."""
    if tasks is not None and len(tasks) <= PER_TASK_PREDICTIONS:

        def of_task(task: int) -> list:
            return conn.call(
                f"listed the predictions of task {task}",
                lambda: conn.client.predictions.list(task=task),
                expect=list,
            )

        # a request costs the server about 0.1 s whatever it holds: a few at a time
        with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
            listed = [p for found in pool.map(of_task, tasks) for p in found]
    else:
        listed = conn.call("listed predictions", lambda: conn.client.predictions.list(project=project_id), expect=list)
    if not all(hasattr(p, "model_dump") and hasattr(p, "task") for p in listed):
        raise KhcError(conn.unexpected("listed predictions"))
    wanted = None if tasks is None else set(tasks)
    predictions: dict[int, list[dict]] = {}
    for p in listed:
        if wanted is None or p.task in wanted:
            predictions.setdefault(p.task, []).append(p.model_dump(mode="json"))
    return predictions


def list_users(conn: Connection) -> dict[int, str]:
    listed = conn.call("listed users", lambda: conn.client.users.list(), expect=list)
    if not all(hasattr(u, "id") and hasattr(u, "email") for u in listed):
        raise KhcError(conn.unexpected("listed users"))
    return {u.id: u.email for u in listed}


def _tasks_of(conn: Connection, project_id: int, raw: bytes) -> list[dict]:
    try:
        tasks = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fail(
            f"the export of project {project_id} from {conn.url} is not JSON ({exc})",
            fix=FIX_RETRY,
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
