"""The detection threshold, tuned on the training articles alone.

A candidate is a claim when its detection probability reaches the threshold. Which cut-off
gives the best span F1 depends on the data, so `fit` chooses it from `GRID` by span F1 (the
evaluation's own measure) on articles held out *inside* the training articles: each of them
in turn below `LEAVE_ONE_OUT_BELOW` articles, else those of the lowest committed fold among
them (folds.py: near-duplicate twins stay on one side), so tuning costs one more detection
fit at any size. In the cross-validation this runs inside every training fold, so the
held-out fold never decides its own threshold. Ties go to the cut-off nearest 0.5, then the
lower one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from builders.model.features import detection_pipeline
from builders.model.folds import LEAVE_ONE_OUT_BELOW
from builders.model.predict import choose_spans, positive_probability
from builders.model.scoring import detection_counts, f1_counts

GRID = tuple(round(0.2 + 0.05 * i, 2) for i in range(11))  # 0.2, 0.25, ..., 0.7
DEFAULT = 0.5


def held_out_sets(folds: dict[str, int]) -> list[set[str]]:
    """The training articles' ({article_id: committed fold}) inner held-out groups: each article
    below `LEAVE_ONE_OUT_BELOW`, else the articles of their lowest fold (none with fewer than two
    articles, or when they all share one fold)."""
    ordered = sorted(folds)
    if len(ordered) < 2:
        return []
    if len(ordered) < LEAVE_ONE_OUT_BELOW:
        return [{a} for a in ordered]
    if len(set(folds.values())) < 2:
        return []
    lowest = min(folds.values())
    return [{a for a, f in folds.items() if f == lowest}]


def tune_threshold(
    table: pd.DataFrame, labels: np.ndarray, claims: pd.DataFrame, seed: int, folds: dict[str, int]
) -> float:
    """The grid's cut-off with the best span F1 on the inner held-out articles; `folds`: the
    committed folds of the training articles."""
    present = set(table["article_id"])
    groups = held_out_sets({a: f for a, f in folds.items() if a in present})
    if not groups:
        return DEFAULT
    held_tables, held_scores = [], []
    for held in groups:
        out = table["article_id"].isin(held).to_numpy()
        inner = detection_pipeline(labels[~out], seed).fit(table[~out], labels[~out])
        held_tables.append(table[out])
        held_scores.append(positive_probability(inner, table[out]))
    held_table, scores = pd.concat(held_tables), np.concatenate(held_scores)
    held_ids = sorted(set().union(*groups))
    reference = claims[claims["article_id"].isin(held_ids)]

    def score(threshold: float) -> tuple:
        counts = detection_counts(choose_spans(held_table, scores, threshold), reference, held_ids)
        return (f1_counts(**counts)["f1"] or 0.0, -abs(threshold - DEFAULT), -threshold)

    return max(GRID, key=score)
