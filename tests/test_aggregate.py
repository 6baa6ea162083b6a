"""Span matching and label decisions (rules in builders/aggregate.py)."""

from __future__ import annotations

from builders.aggregate import iou, match_spans, plurality


def test_iou():
    assert iou(0, 10, 0, 10) == 1.0
    assert iou(0, 10, 5, 15) == 5 / 15
    assert iou(0, 10, 10, 20) == 0.0


def test_spans_of_different_annotators_match_at_half_overlap():
    spans = [(0, 100, "a"), (10, 100, "b"), (0, 40, "c")]
    assert sorted(map(sorted, match_spans(spans))) == [[0, 1], [2]]  # c overlaps a by 40/100 < 0.5


def test_a_cluster_holds_one_span_per_annotation_and_a_span_joins_its_best_match():
    spans = [(0, 100, "a"), (0, 90, "a"), (5, 100, "b")]
    clusters = match_spans(spans)
    # a's two spans can't share a cluster; b fits (0, 100) best (IoU 0.95 against 0.85).
    assert sorted(map(sorted, clusters)) == [[0, 2], [1]]


def test_matches_do_not_chain_through_a_middle_span():
    # b matches a, c matches b, but c does not match a (the anchor): c starts its own cluster.
    spans = [(0, 100, "a"), (30, 130, "b"), (60, 160, "c")]
    assert sorted(map(sorted, match_spans(spans))) == [[0, 1], [2]]


def test_plurality_and_ties():
    assert plurality(["x", "x", "y"]) == ("x", False)
    assert plurality(["x", "y", "z"]) == (None, True)
    assert plurality([None, "y"]) == ("y", False)
    assert plurality([None, None]) == (None, False)
