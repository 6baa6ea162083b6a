"""Span matching and the per-article span groups (builders/build/spans.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from builders.build.spans import MATCH_IOU, SpanGroups, iou, match_spans
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


def _match_one_by_one(starts: list[int], ends: list[int], owners: list) -> list[list[int]]:
    """The matching rule written the plain way (the build's code before it worked over columns):
    each span in turn against every cluster's anchor."""
    order = sorted(range(len(starts)), key=lambda i: (starts[i], ends[i], owners[i]))
    clusters: list[list[int]] = []
    for i in order:
        best, best_iou = None, MATCH_IOU
        for c, cluster in enumerate(clusters):
            anchor = cluster[0]
            score = iou(starts[anchor], ends[anchor], starts[i], ends[i])
            if (
                score >= best_iou
                and (best is None or score > best_iou)
                and owners[i] not in {owners[m] for m in cluster}
            ):
                best, best_iou = c, score
        if best is None:
            clusters.append([i])
        else:
            clusters[best].append(i)
    return clusters


def test_matching_over_columns_gives_the_clusters_of_the_plain_rule():
    """Random crowded articles (many overlaps, ties, repeated offsets, several spans per owner):
    match_spans and SpanGroups.clusters (several articles per batch) give the plain rule's
    clusters, members in the order they joined, clusters in order of creation."""
    rng = np.random.default_rng(3)
    for _ in range(60):
        n = int(rng.integers(1, 40))
        starts = rng.integers(0, 60, n).tolist()
        ends = [s + int(rng.integers(1, 30)) for s in starts]
        owners = rng.choice(["a", "b", "c", "d"], n).tolist()
        assert match_spans(starts, ends, owners) == _match_one_by_one(starts, ends, owners)


def test_span_groups_cluster_batches_equal_the_rule_article_by_article():
    rng = np.random.default_rng(5)
    n_units, n_spans = 60, 900
    units = pd.DataFrame(
        {
            "annotation_uid": [f"u{i:03d}" for i in range(n_units)],
            "article_id": [f"khc-{i % 25:02d}" for i in range(n_units)],
            "annotator": rng.choice(["a", "b", "c"], n_units),
        }
    )
    start = rng.integers(0, 300, n_spans)
    spans = pd.DataFrame(
        {
            "annotation_uid": units["annotation_uid"].to_numpy()[rng.integers(0, n_units, n_spans)],
            "start": start,
            "end": start + rng.integers(1, 40, n_spans),
            "text": ["t"] * n_spans,
            "claim_type": np.zeros(n_spans, dtype=np.int8),
            "evidence": np.zeros(n_spans, dtype=np.int8),
            "result_origin": np.zeros(n_spans, dtype=np.int8),
        }
    )
    groups = SpanGroups.of(units, spans)
    names = units["annotator"].tolist()
    expected = []
    for article in groups.articles():
        who = [names[u] for u in article.unit]
        rows = np.array(article.row)
        expected += [(article.article_id, rows[c].tolist()) for c in _match_one_by_one(article.start, article.end, who)]
    owner = pd.factorize(units["annotator"], sort=True)[0]
    got = []
    for batch in groups.clusters(owner, batch=7):
        for c in range(len(batch)):
            members = batch.span[batch.bounds[c] : batch.bounds[c + 1]]
            got.append((groups.article_ids[batch.group[c]], groups.row[members].tolist()))
    assert got == expected
