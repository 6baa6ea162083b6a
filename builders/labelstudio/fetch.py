"""What `khc ls pull` reads from Label Studio: the whole export, or only the tasks that changed.

A full pull streams the project's JSON export (one request, shown as a byte count). An
incremental pull lists the tasks whose `updated_at` is after a moment (Label Studio's Data
Manager filter `filter:tasks:updated_at`, operator `greater`, value exactly
`%Y-%m-%dT%H:%M:%S.%fZ`), then exports just those tasks, a chunk of ids at a time, in the same
JSON format as the full export. The SDK's `download_sync(ids=...)` sends `ids`, which the
server ignores (it reads `ids[]`, so every task would come back): the ids go as `ids[]`
query parameters instead. The high-water mark of a pull is the newest task `updated_at` on the
server when the pull begins (read before anything is exported, so a change made during the
export is after it and is fetched by the next pull), never this machine's clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from builders.build.snapshots import parse_time, utc_stamp
from builders.errors import KhcError, fail
from builders.labelstudio.connection import NOT_LABEL_STUDIO, Connection
from builders.progress import progress

CHUNK_TASKS = 200  # task ids per export request: keeps the query string well under URL limits
LIST_PAGE = 1000  # tasks per page of a listing (Community sets no maximum unless TASK_API_PAGE_SIZE_MAX)
# Up to this many changed tasks, their predictions are fetched task by task (listing all of a
# project's predictions takes about 10 ms per task on the server)
PER_TASK_PREDICTIONS = 1000
PARALLEL_REQUESTS = 4


def export(conn: Connection, project_id: int) -> list[dict]:
    """The project's full JSON export: a list of tasks, each an object with lists of objects."""

    def download() -> bytes:
        chunks = conn.client.projects.exports.download_sync(project_id, export_type="JSON", download_all_tasks=True)
        received = bytearray()

        def size() -> str:
            return f"{len(received) / 2**20:.1f} MiB"

        for chunk in progress(chunks, desc=f"exporting project {project_id}", unit="chunk", extra=size):
            received += chunk
        return bytes(received)

    return _tasks_of(conn, project_id, conn.call(f"exported project {project_id}", download))


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


def newest_update(conn: Connection, project_id: int) -> datetime | None:
    """The newest task `updated_at` of the project now (None for a project without tasks)."""
    query = json.dumps({"ordering": ["-tasks:updated_at"]})
    what = f"looked up the newest change of project {project_id}"
    pager = conn.call(
        what, lambda: conn.client.tasks.list(project=project_id, fields="task_only", query=query, page_size=1)
    )
    if getattr(getattr(pager, "response", None), "tasks", None) is None:  # not a page of Label Studio's tasks
        raise KhcError(conn.unexpected(what))
    page = conn.call(what, lambda: list(_first(pager)))
    return _time_of(conn, page[0]) if page else None


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
