"""Scores shared by the evaluation and the detection threshold's tuning: precision, recall and
F1 from counts, and the one-to-one span matching (character IoU ≥ 0.5, the build's rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from builders.build.spans import MATCH_IOU


def f1_counts(tp: int, fp: int, fn: int) -> dict:
    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def matches(predicted: list[tuple[int, int]], reference: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One-to-one (predicted, reference) index pairs with IoU ≥ 0.5, best pairs first (ties: the
    later predicted, then the later reference span). The IoU is `builders.build.spans.iou`'s,
    computed for all pairs at once (the same int / int division, so the same floats)."""
    if not predicted or not reference:
        return []
    p, r = np.asarray(predicted, dtype=np.int64), np.asarray(reference, dtype=np.int64)
    overlap = np.minimum(p[:, 1, None], r[None, :, 1]) - np.maximum(p[:, 0, None], r[None, :, 0])
    union = np.maximum(p[:, 1, None], r[None, :, 1]) - np.minimum(p[:, 0, None], r[None, :, 0])
    score = np.divide(overlap, union, out=np.zeros(overlap.shape), where=overlap > 0)
    rows, columns = np.nonzero(score >= MATCH_IOU)
    order = np.lexsort((-columns, -rows, -score[rows, columns]))
    used_p, used_r, found = set(), set(), []
    for i, j in zip(rows[order].tolist(), columns[order].tolist(), strict=True):
        if i not in used_p and j not in used_r:
            used_p.add(i)
            used_r.add(j)
            found.append((i, j))
    return found


def matched(predicted: list[tuple[int, int]], reference: list[tuple[int, int]]) -> int:
    return len(matches(predicted, reference))


def detection_counts(
    predicted: pd.DataFrame, reference: pd.DataFrame, article_ids, ignored: pd.DataFrame | None = None
) -> dict:
    """tp, fp, fn of `predicted` against `reference`; a prediction matching an `ignored` claim (one
    people only accepted from a prediction) is neither right nor wrong, and is not counted."""

    def spans(frame: pd.DataFrame | None) -> dict[str, list[tuple[int, int]]]:
        if frame is None:
            return {}
        return {a: list(zip(g["start"], g["end"], strict=True)) for a, g in frame.groupby("article_id")}

    by_prediction, by_reference, by_ignored = spans(predicted), spans(reference), spans(ignored)
    tp = fp = fn = 0
    for article_id in article_ids:
        p, r = by_prediction.get(article_id, []), by_reference.get(article_id, [])
        found = matches(p, r)
        taken = {i for i, _ in found}
        rest = [span for i, span in enumerate(p) if i not in taken]
        neutral = matched(rest, by_ignored.get(article_id, []))
        tp, fp, fn = tp + len(found), fp + len(rest) - neutral, fn + len(r) - len(found)
    return {"tp": tp, "fp": fp, "fn": fn}
