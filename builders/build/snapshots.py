"""Which files under `annotations/` the build reads, and what each snapshot is.

Every snapshot under `annotations/exports/` is written by khc (`khc ls pull`, or `khc ls import`
for a file downloaded from Label Studio's UI), and recorded in `annotations/exports/snapshots.json`
with its Label Studio project, its export time and its coverage (`full`: the whole project;
`partial`: some tasks; `delta`: the tasks that changed since the project's previous pull, with
the annotation and prediction ids deleted since then and the pull's high-water mark). Snapshots
are ordered by their export time, never by file name; what merging them means is in
`builders/build/index.py`.

Every entry of the folder is read or refused by name, saying what it is and what to do: a file
khc did not record (a raw download, a CSV/TSV export, anything else), a subfolder, a symlink
that leaves the project or points nowhere, a FIFO or device, a snapshot of a project that
`khc.toml` does not declare. `.json` and `.json.gz` (any case) are read.
"""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from builders.errors import KhcError, Problem
from builders.files import write_whole
from builders.project import MARKER, Project

INDEX_NAME = "snapshots.json"
PENDING_INDEX = f".{INDEX_NAME}.pending"  # what a pull is installing (builders/labelstudio/writing.py)
Coverage = Literal["full", "partial", "delta"]
COVERAGES = ("full", "partial", "delta")
# Label Studio's own download name: project-7-at-2026-09-01-12-00-8d3e1f2a.json
LS_DOWNLOAD = re.compile(r"^project-\d+-at-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f]{8}\.", re.I)
FIX_IMPORT = (
    "bring a file downloaded from Label Studio in with `khc ls import FILE` (add --full if it is an "
    "export of the whole project), which pseudonymises it like a pull; or export again with `khc ls pull`"
)


@dataclass(frozen=True)
class Snapshot:
    path: Path
    shown: str
    ls_project: int
    exported_at: str  # ISO 8601, UTC, as `khc` wrote it
    coverage: Coverage
    high_water: str | None = None  # a pull's: newest task `updated_at` on the server when it began
    deleted_annotations: frozenset[int] = frozenset()  # a delta's: deleted since the previous pull
    deleted_predictions: frozenset[int] = frozenset()
    server_time: str | None = None  # a pull's: the server's clock when it read `high_water`

    @property
    def order(self) -> tuple[str, str]:
        """Snapshots sort by export time; the file name only breaks a tie."""
        return (self.exported_at, self.path.name)


def label_files(project: Project) -> list[Path]:
    """Every regular file the read stage looks at (for the manifest's input hashes): the snapshots,
    their index and the predictions files. What cannot be read is refused by the read stage."""
    found = []
    for folder in (project.exports_dir, project.predictions_dir):
        if folder.exists():
            found += [p for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink()]
    return found


def is_label_file(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(".json") or lowered.endswith(".json.gz")


def read_index(project: Project) -> dict[str, dict]:
    path = project.exports_dir / INDEX_NAME
    if not path.exists():
        return {}
    shown = project.rel(path)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KhcError(Problem(f"not valid JSON ({exc})", shown, fix="restore it from git")) from None
    if not isinstance(entries, dict):
        raise KhcError(Problem("not an object of file name → snapshot record", shown, fix="restore it from git"))
    return entries


def snapshot_entry(ls_project: int, coverage: Coverage, exported_at: str, **extra: object) -> dict:
    """The index record of a snapshot; `extra` holds a pull's `high_water` (and a delta's `since`
    and `deleted`), left out when None so that older records keep their shape."""
    entry = {"ls_project": ls_project, "exported_at": exported_at, "coverage": coverage}
    return entry | {k: v for k, v in extra.items() if v is not None}


def record_snapshot(project: Project, path: Path, ls_project: int, coverage: Coverage, exported_at: str) -> None:
    """Record a snapshot khc has just written (import, tests) in the folder's index."""
    write_index(
        project.exports_dir, read_index(project) | {path.name: snapshot_entry(ls_project, coverage, exported_at)}
    )


def write_index(folder: Path, entries: dict[str, dict]) -> None:
    """Replace the folder's index by `entries` in one rename (never half written: files.write_whole)."""
    write_whole(folder / INDEX_NAME, json.dumps(dict(sorted(entries.items())), indent=1) + "\n")


def utc_stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def find_snapshots(project: Project) -> tuple[list[Snapshot], list[Problem]]:
    """The recorded snapshots in export order, and a problem for every other entry of the folder."""
    folder = project.exports_dir
    if not folder.exists():
        return [], []
    entries = read_index(project)
    found, problems = [], []
    for path in sorted(folder.iterdir()):
        if path.name in (INDEX_NAME, ".gitkeep"):
            continue
        shown = project.rel(path)
        problem = entry_problem(project, path, shown)
        if problem is None:
            problem = _not_recorded(path, shown) if path.name not in entries else None
        if problem is None:
            snapshot, problem = _snapshot(project, path, shown, entries[path.name])
            if snapshot is not None:
                found.append(snapshot)
        if problem is not None:
            problems.append(problem)
    for name in sorted(set(entries) - {p.name for p in folder.iterdir()}):
        problems.append(
            Problem(
                "recorded in the snapshot index, but the file is missing",
                project.rel(folder / name),
                fix="restore it from git (a snapshot is never deleted by hand), or remove its entry from "
                f"{project.rel(folder / INDEX_NAME)} if it was never committed",
            )
        )
    return sorted(found, key=lambda s: s.order), problems


def find_predictions(project: Project) -> tuple[list[Path], list[Problem]]:
    """Pre-annotation files under annotations/predictions/, and a problem for every other entry."""
    folder = project.predictions_dir
    if not folder.exists():
        return [], []
    found, problems = [], []
    for path in sorted(folder.iterdir()):
        if path.name == ".gitkeep":
            continue
        shown = project.rel(path)
        problem = entry_problem(project, path, shown)
        if problem is None and not path.name.lower().endswith(".json"):
            problem = Problem(
                "not a predictions file (expected NAME.json)",
                shown,
                fix="write predictions with `khc preannotate`; keep other files elsewhere",
            )
        if problem is None:
            found.append(path)
        else:
            problems.append(problem)
    return found, problems


def entry_problem(project: Project, path: Path, shown: str) -> Problem | None:
    """Why a folder entry cannot be read as a label file, or None: links out of the project,
    dangling links, folders, FIFOs, devices, leftovers of an interrupted write, other file types."""
    if path.is_symlink():
        target = path.resolve()
        if not target.exists():
            return Problem("a symbolic link that points nowhere", shown, fix="delete the link")
        if not target.is_relative_to(project.root.resolve()):
            return Problem(
                "a symbolic link to a file outside the project; the build reads only the project's own files "
                "(and never publishes a path outside it)",
                shown,
                fix="copy the file into the project with `khc ls import FILE` instead of linking it",
            )
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return Problem(f"cannot be read ({exc.strerror})", shown, fix="check the file's permissions")
    if stat.S_ISDIR(mode):
        return Problem(
            "a folder; label files sit directly in the folder, never in subfolders",
            shown,
            fix=f"move its files out of the subfolder ({FIX_IMPORT})",
        )
    if not stat.S_ISREG(mode):
        return Problem("not a regular file (a FIFO, socket or device)", shown, fix="remove it from the folder")
    if path.name == PENDING_INDEX or path.name.endswith(".partial"):
        return Problem(
            "left by an interrupted pull",
            shown,
            fix="run `khc ls pull` again (it finishes or undoes the interrupted pull first), or delete the file",
        )
    if path.name.startswith("."):
        return Problem("a hidden file, e.g. the leftover of an interrupted pull", shown, fix="delete it")
    lowered = path.name.lower()
    if lowered.endswith((".csv", ".tsv")):
        return Problem(
            "a CSV/TSV export: it does not keep the spans' offsets and regions",
            shown,
            fix="export with Label Studio's 'JSON' format (not CSV, TSV or JSON-MIN), then " + FIX_IMPORT,
        )
    if not is_label_file(path.name) and path.parent == project.exports_dir:
        return Problem("not a Label Studio JSON snapshot (.json or .json.gz)", shown, fix=FIX_IMPORT)
    return None


def _not_recorded(path: Path, shown: str) -> Problem:
    what = (
        "a file downloaded from Label Studio's UI (its own file name), not a snapshot khc wrote"
        if LS_DOWNLOAD.match(path.name)
        else "not a snapshot khc wrote: it is not in the snapshot index (annotations/exports/snapshots.json)"
    )
    return Problem(what + "; its users are not pseudonymised and its coverage is unknown", shown, fix=FIX_IMPORT)


def _snapshot(project: Project, path: Path, shown: str, entry: object) -> tuple[Snapshot | None, Problem | None]:
    fix = f"restore {project.rel(project.exports_dir / INDEX_NAME)} from git"
    if not isinstance(entry, dict):
        return None, Problem("its snapshot record is not an object", shown, fix=fix)
    ls_project, exported_at, coverage = entry.get("ls_project"), entry.get("exported_at"), entry.get("coverage")
    if not _is_id(ls_project):
        return None, Problem("its snapshot record names no Label Studio project", shown, fix=fix)
    if coverage not in COVERAGES or not isinstance(exported_at, str) or parse_time(exported_at) is None:
        return None, Problem("its snapshot record has no valid export time and coverage", shown, fix=fix)
    if ls_project not in project.labelstudio.projects:
        declared = ", ".join(map(str, project.labelstudio.projects)) or "none"
        return None, Problem(
            f"a snapshot of Label Studio project {ls_project}, which this dataset does not declare "
            f"(declared: {declared})",
            shown,
            fix=f"if project {ls_project} belongs to this dataset, add it to `projects` under [labelstudio] in "
            f"{MARKER}; otherwise remove the file",
        )
    high_water, deleted, clock = entry.get("high_water"), entry.get("deleted", {}), entry.get("server_time")
    if high_water is not None and (not isinstance(high_water, str) or parse_time(high_water) is None):
        return None, Problem("its snapshot record has a high-water mark that is not a time", shown, fix=fix)
    if clock is not None and (not isinstance(clock, str) or parse_time(clock) is None):
        return None, Problem("its snapshot record has a server time that is not a time", shown, fix=fix)
    lists = [deleted.get(kind, []) for kind in ("annotations", "predictions")] if isinstance(deleted, dict) else None
    if lists is None or not all(isinstance(ids, list) and all(_is_id(i) for i in ids) for ids in lists):
        return None, Problem("its snapshot record's deleted ids are not lists of integer ids", shown, fix=fix)
    if coverage != "delta" and any(lists):
        return None, Problem(f"a {coverage} snapshot records deletions (only a delta does)", shown, fix=fix)
    return (
        Snapshot(path, shown, ls_project, exported_at, coverage, high_water, *map(frozenset, lists), clock),
        None,
    )


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_time(value: object) -> datetime | None:
    """A timestamp of an export, whatever its JSON type: an ISO 8601 string (Z or an offset), or
    seconds since the epoch. Naive times are taken as UTC. None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
