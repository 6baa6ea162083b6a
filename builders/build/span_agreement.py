"""Span F1 of two annotators: how many of their spans match, by identical offsets (`exact`) or
one-to-one at IoU >= 0.5 (`overlap`), on the articles both annotated (agreement.span_pass counts
them batch by batch of articles, over columns)."""

from __future__ import annotations

import numpy as np

from builders.build.coding import NOT_AVAILABLE_FEW, figure
from builders.build.spans import Clusters, SpanGroups


def count_pairs(
    batch: Clusters,
    groups: SpanGroups,
    column: np.ndarray,
    annotated: np.ndarray,
    pair_columns: list[tuple[int, int]],
    pair_counts: dict[tuple[str, str], list[int]],
) -> None:
    """Add one batch's exact and overlap span matches, and spans, to each pair (`pair_columns`:
    the annotator columns of `pair_counts`' pairs), on the articles both annotated (`annotated`:
    span groups × annotator columns). `column` is the annotator column of each unit."""
    position = np.sort(batch.span)  # the batch's spans in span order: by (article, start, end)
    group = np.searchsorted(groups.bounds, position, side="right") - 1
    start, end, who = groups.start[position], groups.end[position], column[groups.unit[position]]
    for figures, (a, b) in zip(pair_counts.values(), pair_columns, strict=True):
        both = annotated[group, a] & annotated[group, b]
        left, right = both & (who == a), both & (who == b)
        exact, overlap = match_pairs((group[left], start[left], end[left]), (group[right], start[right], end[right]))
        figures[0] += exact
        figures[1] += overlap
        figures[2] += int(left.sum() + right.sum())


Spans = tuple[np.ndarray, np.ndarray, np.ndarray]  # article (span group), start, end


def match_pairs(left: Spans, right: Spans) -> tuple[int, int]:
    """(exact, overlap), summed over articles, of two sides each sorted by (article, start, end):
    how many pairs of a `left` and a `right` span of one article have identical offsets, and how
    many of `left`'s spans (in span order) match one of `right`'s at IoU >= 0.5 (the best one not
    yet matched; ties: the later in span order); each span is in one pair at most."""
    if not len(left[0]) or not len(right[0]):
        return 0, 0
    exact = identical_pairs(left, right)
    left_span, right_span, score = candidates(left, right)
    return exact, greedy_matches(left_span, right_span, score)


def identical_pairs(left: Spans, right: Spans) -> int:
    """How many (left, right) pairs of identical offsets in one article, each span in one pair at
    most: per distinct (article, start, end), the smaller of the two sides' counts."""
    group, start, end = (np.concatenate([a, b]) for a, b in zip(left, right, strict=True))
    is_right = np.repeat([False, True], [len(left[0]), len(right[0])])
    order = np.lexsort((end, start, group))
    group, start, end, is_right = group[order], start[order], end[order], is_right[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (np.diff(group) != 0) | (np.diff(start) != 0) | (np.diff(end) != 0)
    run = np.cumsum(new) - 1  # one number per distinct offsets
    n_right = np.bincount(run[is_right], minlength=run[-1] + 1)
    n_left = np.bincount(run[~is_right], minlength=run[-1] + 1)
    return int(np.minimum(n_left, n_right).sum())


def candidates(left: Spans, right: Spans) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (left, right) pair of one article at IoU >= 0.5, as indexes into the sides (each
    sorted by article, start, end), in left order, with the IoU."""
    (left_group, left_start, left_end), (right_group, right_start, right_end) = left, right
    base = int(max(left_end.max(), right_end.max())) + 1  # (article, start) as one sortable number
    key = right_group * base + right_start
    longest = int((right_end - right_start).max())
    # right spans that may overlap: starting after start - longest and before end, in the same article
    first = np.searchsorted(key, left_group * base + np.maximum(left_start - longest + 1, 0))
    stop = np.searchsorted(key, left_group * base + left_end)
    n = np.maximum(stop - first, 0)
    left_span = np.repeat(np.arange(len(left_group)), n)
    right_span = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(first, n)
    ls, le, rs, re_ = left_start[left_span], left_end[left_span], right_start[right_span], right_end[right_span]
    shared = np.minimum(le, re_) - np.maximum(ls, rs)
    score = shared / (np.maximum(le, re_) - np.minimum(ls, rs))
    match = (shared > 0) & (score >= 0.5)
    return left_span[match], right_span[match], score[match]


def greedy_matches(left_span: np.ndarray, right_span: np.ndarray, score: np.ndarray) -> int:
    """How many left spans, taken in order, each get their best right span not taken yet (ties:
    the later right span), of the candidate pairs given. A pair whose two spans are in no other
    pair is always matched; only the rest (few: spans that compete) are walked one by one."""
    alone = (np.bincount(left_span)[left_span] == 1) & (np.bincount(right_span)[right_span] == 1)
    matched = int(alone.sum())
    left_span, right_span, score = left_span[~alone], right_span[~alone], score[~alone]
    order = np.lexsort((-right_span, -score, left_span))  # each left span's candidates, best first
    taken: set[int] = set()
    done = -1  # the last left span that got its match
    for left, right in zip(left_span[order].tolist(), right_span[order].tolist(), strict=True):
        if left != done and right not in taken:
            taken.add(right)
            matched += 1
            done = left
    return matched


def span_f1(counts: list[int]) -> dict:
    """Span F1 of two annotators on the articles both annotated, from `SpanPass.pair_counts`:
        2 × matched pairs / (spans of one + spans of the other), matching by identical offsets
        (`exact`) or one-to-one at IoU >= 0.5 (`overlap`), with the matched pairs and (`units`) the
    spans counted. Symmetric: either side can be the reference."""
    exact, overlap, total = counts
    if total == 0:
        return {"exact": figure(None, 0, NOT_AVAILABLE_FEW), "overlap": figure(None, 0, NOT_AVAILABLE_FEW)}
    return {
        "exact": {**figure(2 * exact / total, total), "matched": exact},
        "overlap": {**figure(2 * overlap / total, total), "matched": overlap},
    }


def pooled(figures: list[dict]) -> dict:
    """Span F1 pooled over several pairs (`span_f1` results): all their matched pairs over all
    their spans."""
    out = {}
    for kind in ("exact", "overlap"):
        counted = [f[kind] for f in figures if f[kind]["value"] is not None]
        total, matched = sum(f["units"] for f in counted), sum(f["matched"] for f in counted)
        out[kind] = (
            {**figure(2 * matched / total, total), "matched": matched} if total else figure(None, 0, NOT_AVAILABLE_FEW)
        )
    return out
