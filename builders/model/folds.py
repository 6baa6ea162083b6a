"""Cross-validation folds, assigned per article (decisions.md "Folds").

One policy: `N_FOLDS` folds, only train and validation articles get one (test stays held
out), every article of a near-duplicate group shares its group's fold, and an assignment
once recorded never moves. New articles (groups) are taken in the order of
sha256(seed + first article id) and each goes to the fold holding the fewest articles
(ties: the lowest fold), like `builders/corpus/splits.py` does for splits. The release
issue records the assignments in a committed file; `fold_of` is the assignment itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

N_FOLDS = 5
FOLD_SEED = "khc-folds-v1"
LEAVE_ONE_OUT_BELOW = 10  # labelled articles; with fewer, each article is its own fold


def fold_of(
    article_ids: Iterable[str],
    seed: str = FOLD_SEED,
    *,
    existing: Mapping[str, int] | None = None,
    groups: Mapping[str, str] | None = None,
    n_folds: int = N_FOLDS,
) -> dict[str, int]:
    """{article_id: fold} for `article_ids` (train and validation articles only).

    `existing` holds recorded folds, kept as they are; `groups` maps an article to its
    near-duplicate group's key (articles of one group always share a fold)."""
    existing = dict(existing or {})
    groups = groups or {}
    counts = [0] * n_folds
    for fold in existing.values():
        counts[fold] += 1
    group_fold = {groups.get(a, a): f for a, f in existing.items()}
    members: dict[str, list[str]] = {}
    for article_id in dict.fromkeys(article_ids):
        if article_id not in existing:
            members.setdefault(groups.get(article_id, article_id), []).append(article_id)
    chosen: dict[str, int] = {}
    for key in sorted(members, key=lambda k: hashlib.sha256(f"{seed}:{min(members[k])}".encode()).hexdigest()):
        fold = group_fold.get(key)
        if fold is None:
            fold = min(range(n_folds), key=lambda f: (counts[f], f))
            group_fold[key] = fold
        for article_id in members[key]:
            chosen[article_id] = fold
            counts[fold] += 1
    return {**existing, **chosen}


def cv_groups(article_ids: list[str], seed: str = FOLD_SEED) -> tuple[str, dict[str, int]]:
    """(scheme, {article_id: fold}): leave-one-article-out below `LEAVE_ONE_OUT_BELOW`
    labelled articles, the `N_FOLDS` folds of `fold_of` from there on."""
    ordered = sorted(set(article_ids))
    if len(ordered) < LEAVE_ONE_OUT_BELOW:
        return "leave-one-article-out", {a: i for i, a in enumerate(ordered)}
    return f"grouped {N_FOLDS}-fold by article", fold_of(ordered, seed)
