"""`khc ls import FILE`: a JSON export downloaded from Label Studio's UI → a recorded snapshot.

A download is not a snapshot khc wrote: its users are Label Studio user ids (or e-mails), its
prediction ids stand for predictions it does not contain, and nothing says whether it holds the
whole project. So it enters the dataset the way a pull does (`pull.store`): users replaced by the
same pseudonyms a pull gives them (the server is asked who they are), predictions fetched from the
project, and a record of its project, export time and coverage. Coverage is `partial` (some
tasks: it adds and updates, never deletes) unless `--full` says it is an export of the whole
project. Its export time is read from Label Studio's own file name
(`project-7-at-2026-09-01-12-00-8d3e1f2a.json`); failing that, the newest `updated_at` in it
stands in (a lower bound, so a download never outranks a later pull).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from builders.build.read import check_bounds, iter_tasks
from builders.build.snapshots import Coverage, parse_time, utc_stamp
from builders.errors import fail
from builders.labelstudio.connection import Connection
from builders.labelstudio.pull import map_location
from builders.labelstudio.storing import PullResult, store
from builders.lock import locked
from builders.project import MARKER, Project

DOWNLOAD_TIME = re.compile(r"-at-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-")


@locked("khc ls import")
def import_download(
    project: Project,
    conn: Connection,
    source: Path,
    project_id: int,
    *,
    full: bool = False,
    map_path: Path | None = None,
    now: datetime | None = None,
) -> PullResult:
    shown = str(source)
    if not source.is_file():
        fail("no such file", file=shown, fix="give the path of a JSON export downloaded from Label Studio")
    if project_id not in project.labelstudio.projects:
        fail(
            f"Label Studio project {project_id} is not one of this dataset's projects",
            file=project.rel(project.root / MARKER),
            fix=f"add it to `projects` under [labelstudio] in {MARKER}, or name the right --project-id",
        )
    check_bounds(source, shown)
    tasks = list(iter_tasks(source, shown))
    others = sorted(
        {t.get("project") for t in tasks if isinstance(t, dict) and t.get("project") not in (None, project_id)}
    )
    if others:
        fail(
            f"the file holds tasks of Label Studio project {others[0]}, not {project_id}",
            file=shown,
            fix="name the project it was downloaded from with --project-id",
        )
    coverage: Coverage = "full" if full else "partial"
    return store(
        project,
        conn,
        project_id,
        tasks,
        map_location(project, map_path),
        now,
        coverage=coverage,
        exported_at=export_time(source.name, tasks),
        kind="-import",
    )


def export_time(name: str, tasks: list) -> str:
    """When the download was exported: from Label Studio's file name, else its newest `updated_at`."""
    match = DOWNLOAD_TIME.search(name)
    if match:
        year, month, day, hour, minute = map(int, match.groups())
        return utc_stamp(datetime(year, month, day, hour, minute, tzinfo=UTC))
    times = [
        parse_time(item.get("updated_at"))
        for task in tasks
        if isinstance(task, dict)
        for item in [task, *(a for a in task.get("annotations") or [] if isinstance(a, dict))]
    ]
    known = [t for t in times if t is not None]
    return utc_stamp(max(known)) if known else utc_stamp(datetime.fromtimestamp(0, UTC))
