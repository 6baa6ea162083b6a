"""Span matching and label decisions (rules in builders/aggregate.py)."""

from __future__ import annotations

from builders.build.aggregate import iou, match_spans, plurality


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


def test_span_groups_sort_spans_per_article_and_drop_spans_of_unknown_annotations():
    import pandas as pd

    from builders.build.aggregate import SpanGroups

    units = pd.DataFrame(
        {
            "annotation_uid": ["u-b", "u-a", "u-c"],
            "article_id": ["khc-2", "khc-1", "khc-2"],
            "annotator": ["b", "a", "c"],
        }
    )
    spans = pd.DataFrame(
        {
            "annotation_uid": ["u-c", "u-b", "u-a", "u-gone", "u-b"],
            "start": [5, 5, 0, 1, 0],
            "end": [9, 9, 4, 2, 3],
            "text": ["t"] * 5,
            "claim_type": ["efficacy", "safety", None, "efficacy", "efficacy"],
            "evidence": [None, "anecdotal", None, None, None],
        }
    )
    groups = SpanGroups.of(units, spans)
    assert groups.article_ids == ["khc-1", "khc-2"] and groups.n_spans == 5
    got = {
        article: [(s, e, units["annotation_uid"][u], ct, ev, row) for s, e, _r, u, ct, ev, row in rows]
        for article, rows in groups.slices()
    }
    assert got == {
        "khc-1": [(0, 4, "u-a", None, None, 2)],
        # same offsets: ordered by annotation_uid (u-b before u-c), whatever the input order
        "khc-2": [
            (0, 3, "u-b", "efficacy", None, 4),
            (5, 9, "u-b", "safety", "anecdotal", 1),
            (5, 9, "u-c", "efficacy", None, 0),
        ],
    }
    keep = units["annotator"].isin(["c"]).to_numpy()
    assert [article for article, _ in groups.slices(keep)] == ["khc-2"]
