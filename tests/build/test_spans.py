"""Span matching and the per-article span groups (builders/build/spans.py)."""

from __future__ import annotations

import pandas as pd

from builders.build.spans import SpanGroups, iou, match_spans
from builders.schema import CLAIM_TYPE, EVIDENCE, NO_LABEL


def _match(spans: list[tuple[int, int, str]]) -> list[list[int]]:
    starts, ends, owners = (list(column) for column in zip(*spans, strict=True))
    return sorted(map(sorted, match_spans(starts, ends, owners)))


def test_iou():
    assert iou(0, 10, 0, 10) == 1.0
    assert iou(0, 10, 5, 15) == 5 / 15
    assert iou(0, 10, 10, 20) == 0.0


def test_spans_of_different_annotators_match_at_half_overlap():
    assert _match([(0, 100, "a"), (10, 100, "b"), (0, 40, "c")]) == [[0, 1], [2]]  # c: 40/100 < 0.5


def test_a_cluster_holds_one_span_per_annotation_and_a_span_joins_its_best_match():
    # a's two spans can't share a cluster; b fits (0, 100) best (IoU 0.95 against 0.85).
    assert _match([(0, 100, "a"), (0, 90, "a"), (5, 100, "b")]) == [[0, 2], [1]]


def test_matches_do_not_chain_through_a_middle_span():
    # b matches a, c matches b, but c does not match a (the anchor): c starts its own cluster.
    assert _match([(0, 100, "a"), (30, 130, "b"), (60, 160, "c")]) == [[0, 1], [2]]


def test_span_groups_sort_spans_per_article_and_drop_spans_of_unknown_annotations():
    units = pd.DataFrame(
        {
            "annotation_uid": ["u-b", "u-a", "u-c"],
            "article_id": ["khc-2", "khc-1", "khc-2"],
            "annotator": ["b", "a", "c"],
        }
    )
    efficacy, safety = CLAIM_TYPE.codes["efficacy"], CLAIM_TYPE.codes["safety"]
    anecdote = EVIDENCE.codes["anecdote"]
    spans = pd.DataFrame(
        {
            "annotation_uid": ["u-c", "u-b", "u-a", "u-gone", "u-b"],
            "start": [5, 5, 0, 1, 0],
            "end": [9, 9, 4, 2, 3],
            "text": ["t"] * 5,
            "claim_type": [efficacy, safety, safety, efficacy, efficacy],
            "evidence": [NO_LABEL, anecdote, NO_LABEL, NO_LABEL, NO_LABEL],
            "result_origin": [3] * 5,
        }
    )
    groups = SpanGroups.of(units, spans)
    assert groups.article_ids == ["khc-1", "khc-2"] and groups.n_spans == 5
    got = {
        a.article_id: [
            (a.start[i], a.end[i], units["annotation_uid"][a.unit[i]], a.claim_type[i], a.evidence[i], a.row[i])
            for i in range(len(a.start))
        ]
        for a in groups.articles()
    }
    assert got == {
        "khc-1": [(0, 4, "u-a", safety, NO_LABEL, 2)],
        # same offsets: ordered by annotation_uid (u-b before u-c), whatever the input order
        "khc-2": [
            (0, 3, "u-b", efficacy, NO_LABEL, 4),
            (5, 9, "u-b", safety, anecdote, 1),
            (5, 9, "u-c", efficacy, NO_LABEL, 0),
        ],
    }
    keep = units["annotator"].isin(["c"]).to_numpy()
    assert [a.article_id for a in groups.articles(keep)] == ["khc-2"]
