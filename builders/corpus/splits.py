"""Per-article split assignment, recorded in the committed file `corpus/splits.csv`.

An article keeps its split forever once recorded. New articles are taken in the order of
sha256(seed + article_id) and each goes to the split furthest below its target share
(ties: train, validation, test), so small corpora still get every split and large ones
approach the ratios. The seed and ratios are settings in `khc.toml`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from builders.errors import KhcError, Problem, fail
from builders.files import write_whole

if TYPE_CHECKING:
    from builders.project import Project

SPLIT_NAMES = ("train", "validation", "test")
HEADER = ["article_id", "split"]


def read_split_file(path: Path, shown: str) -> dict[str, str]:
    if not path.exists():
        return {}
    assignments: dict[str, str] = {}
    problems: list[Problem] = []
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0] != HEADER:
        raise KhcError(
            Problem("the first line must be 'article_id,split'", shown, "line 1", "restore the file from git")
        )
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or row[1] not in SPLIT_NAMES:
            problems.append(
                Problem(
                    f"expected 'article_id,split' with split one of {SPLIT_NAMES}, got {row}", shown, f"line {number}"
                )
            )
            continue
        if row[0] in assignments:
            problems.append(
                Problem(
                    f"{row[0]} is listed twice",
                    shown,
                    f"line {number}",
                    "an article has one split; keep the first line",
                )
            )
            continue
        assignments[row[0]] = row[1]
    if problems:
        raise KhcError(problems)
    return assignments


def choose_splits(existing: dict[str, str], new_ids: list[str], seed: str, ratios: dict[str, float]) -> dict[str, str]:
    """Deterministic splits for `new_ids`, given the recorded ones (which never move)."""
    counts = {name: 0 for name in SPLIT_NAMES}
    for split in existing.values():
        counts[split] += 1
    total = len(existing)
    order = sorted(
        (i for i in dict.fromkeys(new_ids) if i not in existing),
        key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest(),
    )
    chosen: dict[str, str] = {}
    for article_id in order:
        total += 1
        split = max(SPLIT_NAMES, key=lambda s: (ratios[s] * total - counts[s], -SPLIT_NAMES.index(s)))
        counts[split] += 1
        chosen[article_id] = split
    return chosen


def assign_new_articles(project: Project, article_ids: list[str], *, write: bool) -> dict[str, str]:
    """All assignments for `article_ids` plus the recorded ones; appends new ones when `write`."""
    path = project.split_file
    existing = read_split_file(path, project.rel(path))
    new = choose_splits(existing, article_ids, project.splits.seed, project.splits.ratios)
    if new and write:
        append_assignments(path, new)
    return {**existing, **new}


def append_assignments(path: Path, new: dict[str, str]) -> None:
    append_records(path, HEADER, new)


def append_records(path: Path, header: list[str] | tuple[str, ...], new: dict, *, anew: bool = False) -> None:
    """Append `article_id → value` rows, sorted, to a committed CSV record (header on a new file);
    with `anew`, the file holds only the header and these rows. Written whole or not at all
    (files.write_whole): a failure (a full disk) leaves the record exactly as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = b"" if anew or not path.exists() else path.read_bytes()
    rows = io.StringIO(newline="")
    writer = csv.writer(rows, lineterminator="\n")
    if not kept:
        writer.writerow(header)
    writer.writerows(sorted(new.items()))
    write_whole(path, kept + rows.getvalue().encode("utf-8"))


# The split record: `splits` ({article_id: split}) in dist/manifest.json and in every release record.
SPLIT_RECORD_FIELD = "splits"
RESTORE = "restore it with `git checkout -- corpus/splits.csv`"


def split_history(project: Project) -> list[tuple[str, dict[str, str]]]:
    """The split records of the previous build's manifest and of every release record, oldest first."""
    files = sorted(project.releases_dir.glob("*.json")) if project.releases_dir.is_dir() else []
    files.append(project.default_out / "manifest.json")
    history = []
    for path in files:
        if not path.is_file():
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KhcError(
                Problem(f"cannot read its split record: {exc}", project.rel(path), fix="restore the file from git")
            ) from None
        record = document.get(SPLIT_RECORD_FIELD) if isinstance(document, dict) else None
        if isinstance(record, dict):
            history.append((project.rel(path), {str(k): str(v) for k, v in record.items()}))
    return history


def recorded_ids(project: Project) -> set[str]:
    """Every article id the split file or a split record has ever held (ids are never reused)."""
    ids = set(read_split_file(project.split_file, project.rel(project.split_file)))
    for _source, record in split_history(project):
        ids.update(record)
    return ids


def check_split_history(project: Project, assignments: dict[str, str], *, resplit: bool = False) -> list[str]:
    """Refuse split assignments that move or drop an article recorded by the previous build or a
    release, and a missing `corpus/splits.csv` that was recorded; return the moves `resplit` allows."""
    shown = project.rel(project.split_file)
    history = split_history(project)
    if not project.split_file.exists() and not resplit and (any(r for _, r in history) or _tracked(project)):
        recorded = history[-1][0] if history else "git"
        fail(
            f"the split file is missing, though {recorded} records the articles' splits: "
            "building now would assign every article afresh",
            file=shown,
            fix=f"{RESTORE}; a deliberate re-split is `khc build --resplit` (and a major version at release)",
        )
    on_file = read_split_file(project.split_file, shown)
    moves: dict[str, str] = {}
    for source, record in history:
        for article_id, split in sorted(record.items()):
            now = assignments.get(article_id)
            if article_id in moves:
                continue
            if now != split:
                where = f"in {now}" if now else "in no split"
                moves[article_id] = f"{where} now, but {source} records it in {split}"
            elif article_id not in on_file and not resplit:  # chosen afresh: the same split only by chance
                moves[article_id] = f"its line is missing, but {source} records it in {split}"
    if moves and not resplit:
        raise KhcError(
            [
                Problem(
                    f"{what}: an article never changes split once recorded",
                    shown,
                    article_id,
                    f"{RESTORE}; a deliberate re-split is `khc build --resplit` (and a major version at release)",
                )
                for article_id, what in moves.items()
            ]
        )
    return [f"{article_id}: {what}" for article_id, what in moves.items()]


def _tracked(project: Project) -> bool:
    """Whether git knows corpus/splits.csv (so its absence is a deletion, not a new project)."""
    try:
        result = subprocess.run(
            ["git", "ls-files", "--error-unmatch", project.rel(project.split_file)],
            cwd=project.root,
            capture_output=True,
            check=False,
        )
    except OSError:
        return False
    return result.returncode == 0
