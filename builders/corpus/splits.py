"""Per-article split assignment, recorded in the committed file `corpus/splits.csv`.

An article keeps its split forever once recorded. New articles are taken in the order of
sha256(seed + article_id) and each goes to the split furthest below its target share
(ties: train, validation, test), so small corpora still get every split and large ones
approach the ratios. The seed and ratios are settings in `khc.toml`.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from builders.errors import KhcError, Problem

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
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if fresh:
            writer.writerow(HEADER)
        writer.writerows(sorted(new.items()))
