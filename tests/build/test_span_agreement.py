"""Span F1's matching of two annotators' spans over columns (builders/build/span_agreement.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from builders.build.span_agreement import match_pairs
from builders.build.spans import iou


def _match_pair_one_by_one(left: list[tuple[int, int]], right: list[tuple[int, int]]) -> tuple[int, int]:
    """One article's (exact, overlap) the plain way: identical offsets as a multiset intersection;
    each left span in span order takes its best right span not taken yet (IoU >= 0.5; ties: the
    later right span in span order)."""
    exact = sum((Counter(left) & Counter(right)).values())
    right = sorted(right)
    taken: set[int] = set()
    overlap = 0
    for start, end in sorted(left):
        best, best_i = 0.0, -1
        for i in range(len(right) - 1, -1, -1):
            score = iou(start, end, *right[i])
            if i not in taken and score > best:
                best, best_i = score, i
        if best >= 0.5:
            overlap += 1
            taken.add(best_i)
    return exact, overlap


def _side(articles: list[list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = sorted((g, s, e) for g, spans in enumerate(articles) for s, e in spans)
    return tuple(np.array([r[k] for r in rows], dtype=np.int64) for k in range(3))


def test_span_pairs_matched_over_columns_as_one_by_one():
    """Crowded random articles (shared offsets, competing spans, ties): the columnar matching
    gives the plain walk's exact and overlap counts, summed over the articles."""
    rng = np.random.default_rng(11)
    left, right = [], []
    for _ in range(300):
        for side in (left, right):
            n = int(rng.integers(0, 12))
            starts = rng.integers(0, 50, n).tolist()
            side.append([(s, s + int(rng.integers(1, 20))) for s in starts])
    expected = np.sum([_match_pair_one_by_one(a, b) for a, b in zip(left, right, strict=True)], axis=0)
    assert match_pairs(_side(left), _side(right)) == tuple(int(x) for x in expected)
    assert expected[0] > 0 and expected[1] > expected[0]  # the data exercise both counts


def test_a_tie_goes_to_the_later_right_span_as_before():
    # (0, 10) is at IoU 0.5 with both (0, 5) and (5, 10) and takes the later one, so (5, 10) on
    # the left finds nothing: one overlap match, not two (the rule span F1 has always used).
    left, right = [[(0, 10), (5, 10)]], [[(0, 5), (5, 10)]]
    assert _match_pair_one_by_one(left[0], right[0]) == (1, 1)
    assert match_pairs(_side(left), _side(right)) == (1, 1)
