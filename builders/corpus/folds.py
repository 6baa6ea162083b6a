"""Per-article cross-validation folds, recorded in the committed file `corpus/folds.csv`.

`N_FOLDS` (5) folds, assigned once per article like splits and never moved: only train and
validation articles get a fold (test articles stay held out, fold null). New articles are
taken in the order of sha256("<seed>:fold:<article_id>") (the seed is `[splits] seed` in
`khc.toml`) and each goes to the fold with the fewest articles (ties: the lowest fold), the
splits' "furthest below target" rule with equal targets, so the folds stay balanced as the
corpus grows.

Near-duplicate twins should share a fold; there is no near-duplicate detector in the package
yet (`builders.corpus.neardup`), so folds are assigned article by article. When it lands, a
twin should take its recorded twin's fold here.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from builders.corpus.splits import append_records
from builders.errors import KhcError, Problem

N_FOLDS = 5
HEADER = ["article_id", "fold"]
FOLD_SPLITS = ("train", "validation")  # the splits whose articles get a fold


def read_fold_file(path: Path, shown: str) -> dict[str, int]:
    """{article_id: fold} as recorded; {} when the file does not exist yet."""
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0] != HEADER:
        raise KhcError(
            Problem("the first line must be 'article_id,fold'", shown, "line 1", "restore the file from git")
        )
    folds: dict[str, int] = {}
    problems: list[Problem] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or row[1] not in {str(k) for k in range(N_FOLDS)}:
            problems.append(
                Problem(f"expected 'article_id,fold' with fold 0..{N_FOLDS - 1}, got {row}", shown, f"line {number}")
            )
        elif row[0] in folds:
            problems.append(
                Problem(f"{row[0]} is listed twice", shown, f"line {number}", "an article has one fold; keep the first")
            )
        else:
            folds[row[0]] = int(row[1])
    if problems:
        raise KhcError(problems)
    return folds


def check_folds(folds: dict[str, int], splits: dict[str, str], shown: str) -> None:
    """A recorded fold belongs to a train or validation article (test is held out)."""
    problems = [
        Problem(
            f"{article_id} is in the {splits.get(article_id, 'no')} split, which gets no fold",
            shown,
            article_id,
            "only train and validation articles have folds: restore the file from git",
        )
        for article_id in folds
        if splits.get(article_id) not in FOLD_SPLITS
    ]
    if problems:
        raise KhcError(problems)


def choose_folds(existing: dict[str, int], splits: dict[str, str], seed: str) -> dict[str, int]:
    """Folds for the train and validation articles of `splits` that have none recorded."""
    sizes = [0] * N_FOLDS
    for fold in existing.values():
        sizes[fold] += 1
    new = sorted(
        (a for a, split in splits.items() if split in FOLD_SPLITS and a not in existing),
        key=lambda a: hashlib.sha256(f"{seed}:fold:{a}".encode()).hexdigest(),
    )
    chosen: dict[str, int] = {}
    for article_id in new:
        fold = min(range(N_FOLDS), key=lambda k: (sizes[k], k))
        sizes[fold] += 1
        chosen[article_id] = fold
    return chosen


def append_folds(path: Path, new: dict[str, int]) -> None:
    append_records(path, HEADER, new)
