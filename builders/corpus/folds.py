"""Per-article cross-validation folds, recorded in the committed file `corpus/folds.csv`.

`N_FOLDS` (5) folds, assigned once per article like splits and never moved: only train and
validation articles get a fold (test articles stay held out, fold null).

Near-duplicate twins share a fold (`builders.corpus.neardup` finds them; pairs join
transitively into groups keyed by their smallest article id). A new article whose group has a
recorded fold takes that fold. The other new articles are taken group by group, in the order of
sha256("<seed>:fold:<smallest new article_id of the group>") (the seed is `[splits] seed` in
`khc.toml`), and each group goes whole to the fold with the fewest articles (ties: the lowest
fold), the splits' "furthest below target" rule with equal targets, so the folds stay balanced
as the corpus grows (an article without twins is a group of one, so a corpus without twins
gets the same folds as before twins were grouped). Recorded folds that put twins of one group
in different folds are refused, naming every member and its fold: a recorded fold never moves
unless someone edits the file on purpose.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
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


def twin_groups(pairs: Iterable[tuple]) -> dict[str, str]:
    """{article_id: group key} for the articles of near-duplicate `pairs` (id_a, id_b, ...): pairs
    join transitively, and a group's key is its smallest article id."""
    parent: dict[str, str] = {}

    def root(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]  # path halving keeps chains short
            a = parent[a]
        return a

    for a, b, *_ in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the smaller id stays the root: the key is the minimum
    return {a: root(a) for a in sorted(parent)}


def choose_folds(
    existing: dict[str, int],
    splits: dict[str, str],
    seed: str,
    twins: Iterable[tuple] = (),
    shown: str = "corpus/folds.csv",
) -> dict[str, int]:
    """Folds for the train and validation articles of `splits` that have none recorded; near-duplicate
    `twins` (pairs from `neardup.near_duplicate_pairs`) share one."""
    groups = twin_groups(twins)
    recorded: dict[str, dict[str, int]] = {}
    for article_id, fold in existing.items():
        recorded.setdefault(groups.get(article_id, article_id), {})[article_id] = fold
    _refuse_split_groups(recorded, shown)
    sizes = [0] * N_FOLDS
    for fold in existing.values():
        sizes[fold] += 1
    new: dict[str, list[str]] = {}
    for article_id in sorted(a for a, split in splits.items() if split in FOLD_SPLITS and a not in existing):
        new.setdefault(groups.get(article_id, article_id), []).append(article_id)  # no twins: a group of one
    chosen: dict[str, int] = {}
    for group, members in new.items():  # a twin of a recorded article takes its fold
        if group in recorded:
            fold = next(iter(recorded[group].values()))
            chosen |= dict.fromkeys(members, fold)
            sizes[fold] += len(members)
    free = sorted(
        (members for group, members in new.items() if group not in recorded),
        key=lambda members: hashlib.sha256(f"{seed}:fold:{members[0]}".encode()).hexdigest(),
    )
    for members in free:
        fold = min(range(N_FOLDS), key=lambda k: (sizes[k], k))
        sizes[fold] += len(members)
        chosen |= dict.fromkeys(members, fold)
    return dict(sorted(chosen.items()))


def _refuse_split_groups(recorded: dict[str, dict[str, int]], shown: str) -> None:
    """A KhcError for every group of twins whose recorded folds differ."""
    problems = []
    for members in recorded.values():
        if len(set(members.values())) < 2:
            continue
        ids = sorted(members)
        listed = ", ".join(f"{a} (fold {members[a]})" for a in ids)
        keep = members[ids[0]]
        problems.append(
            Problem(
                f"{listed} are near-duplicates in different folds: twins share a fold, and khc never moves "
                "a recorded fold",
                shown,
                ", ".join(ids),
                f"give {' and '.join(a for a in ids if members[a] != keep)} fold {keep} in {shown} (a deliberate "
                "re-fold: say so in CHANGELOG.md), or leave the copy out of the corpus",
            )
        )
    if problems:
        raise KhcError(problems)


def append_folds(path: Path, new: dict[str, int], *, anew: bool = False) -> None:
    append_records(path, HEADER, new, anew=anew)
