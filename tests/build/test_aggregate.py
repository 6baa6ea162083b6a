"""Label decisions (rules in builders/build/aggregate.py)."""

from __future__ import annotations

from collections import Counter
from unittest.mock import patch

import numpy as np
import pandas as pd

from builders.build.aggregate import claim_batches, plurality
from builders.build.spans import SpanGroups, match_spans
from builders.schema import CLAIM_TYPE, EVIDENCE, NO_LABEL


def test_plurality_and_ties():
    assert plurality(["x", "x", "y"]) == ("x", False)
    assert plurality(["x", "y", "z"]) == (None, True)
    assert plurality([None, "y"]) == ("y", False)
    assert plurality([None, None]) == (None, False)


def _claims_one_by_one(units: pd.DataFrame, groups: SpanGroups, spans: pd.DataFrame) -> tuple[list[dict], list, list]:
    """Rules 2-4 for spans, cluster by cluster the plain way: (claims, ties, unmatched clusters)."""
    uid, who, version = (units[c].tolist() for c in ("annotation_uid", "annotator", "guideline_version"))
    k = Counter(units["article_id"])
    claims, ties, unmatched = [], [], []
    for a in groups.articles():
        for cluster in match_spans(a.start, a.end, [uid[u] for u in a.unit]):
            if 2 * len(cluster) <= k[a.article_id]:
                unmatched.append((a.article_id, [(who[a.unit[i]], a.start[i], a.end[i]) for i in cluster]))
                continue
            offsets = Counter((a.start[i], a.end[i]) for i in cluster)
            start, end = min(offsets, key=lambda se: (-offsets[se], se[0], se[1] - se[0]))
            claim = {"article_id": a.article_id, "start": start, "end": end, "n_marked": len(cluster)}
            claim["text"] = spans["text"][next(a.row[i] for i in cluster if (a.start[i], a.end[i]) == (start, end))]
            for name, codes in ((CLAIM_TYPE.name, a.claim_type), (EVIDENCE.name, a.evidence)):
                votes = [codes[i] if codes[i] != NO_LABEL else None for i in cluster]
                claim[name], tied = plurality(votes)
                if tied:
                    ties.append((a.article_id, start, end, name))
            claim["annotators"] = sorted({who[a.unit[i]] for i in cluster})
            claim["source_annotations"] = sorted(uid[a.unit[i]] for i in cluster)
            found = sorted({version[a.unit[i]] for i in cluster if isinstance(version[a.unit[i]], str)})
            claim["guideline_version"] = ",".join(found) if found else None
            claims.append(claim)
    return claims, ties, unmatched


def test_claims_over_columns_equal_the_rules_applied_cluster_by_cluster():
    """Random crowded articles with ties, unmatched clusters and several guideline versions:
    the claims made over columns, batch by batch, are those of the rules applied one cluster at
    a time (offsets, text, labels, ties, who marked it)."""
    rng = np.random.default_rng(17)
    n_units, n_spans = 90, 1500
    units = pd.DataFrame(
        {
            "annotation_uid": [f"u{i:03d}" for i in range(n_units)],
            "article_id": [f"khc-{i % 30:02d}" for i in range(n_units)],
            "annotator": [f"ann-{i // 30}" for i in range(n_units)],
            "guideline_version": [("1.0", "1.1", None)[i] for i in rng.integers(0, 3, n_units)],
            "tier": np.ones(n_units, dtype=np.int64),
        }
    )
    start = rng.integers(0, 400, n_spans)
    spans = pd.DataFrame(
        {
            "annotation_uid": units["annotation_uid"].to_numpy()[rng.integers(0, n_units, n_spans)],
            "start": start,
            "end": start + rng.integers(5, 40, n_spans),
            "text": [f"text {i}" for i in range(n_spans)],
            "claim_type": rng.integers(0, 3, n_spans).astype(np.int8),
            "evidence": rng.integers(-1, 3, n_spans).astype(np.int8),
            "result_origin": np.zeros(n_spans, dtype=np.int8),
        }
    )
    groups = SpanGroups.of(units, spans)
    expected, ties, unmatched = _claims_one_by_one(units, groups, spans)
    counts, report = Counter(), {"unmatched_spans": [], "ties": []}
    with patch("builders.build.spans.BATCH_ARTICLES", 4):
        got = pd.concat(list(claim_batches(units, spans, groups, units, counts, report)), ignore_index=True)
    columns = list(expected[0])
    got_rows = got[columns].astype(object).where(got[columns].notna(), None).to_dict("records")
    assert got_rows == expected
    assert [(t["article_id"], t["start"], t["end"], t["label"]) for t in report["ties"]] == ties
    spans_of = [
        (u["article_id"], [(s["annotator"], s["start"], s["end"]) for s in u["spans"]])
        for u in report["unmatched_spans"]
    ]
    assert spans_of == unmatched
    assert ties and unmatched and counts["unmatched_spans"] == sum(len(s) for _, s in unmatched)
