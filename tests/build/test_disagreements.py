"""The disagreement CSV (builders/build/disagreements.py): boundary-only and label disagreements in
separate columns, pair by pair, from spans built to differ in one known way each."""

from __future__ import annotations

import re

import pandas as pd

from builders.build.disagreements import COLUMNS, disagreements
from builders.features import SPAN_COLUMNS
from builders.schema import CLAIM_TYPE, EVIDENCE, HARMS_EXPLAINED, HUMAN, RISK_DISCLOSURES
from tests.conftest import REPO

ARTICLE = "khc-000009"
# Each case: a's span and b's span (start, end, claim_type, evidence), or None for no span. What makes
# them differ is the case's name; the expected columns are worked out from the spans below.
CASES = {
    "agree": ((0, 100, "efficacy", "none"), (0, 100, "efficacy", "none")),
    "boundary": ((200, 300, "safety", "anecdote"), (210, 300, "safety", "anecdote")),
    "claim_type": ((400, 500, "mechanism", "none"), (400, 500, "procedure", "none")),
    "evidence_and_offsets": ((600, 700, "efficacy", "vague_appeal"), (600, 690, "efficacy", "none")),
    "only_a": ((800, 900, "regulatory", "none"), None),
}


def tables(
    cases: dict, harms: tuple[str, str], items: tuple[list[str], list[str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    units, spans = [], []
    for k, annotator in enumerate(("ann-a", "ann-b")):
        uid = f"{annotator}-1"
        units.append(
            {
                "annotation_uid": uid,
                "article_id": ARTICLE,
                "annotator": annotator,
                "origin": HUMAN,
                RISK_DISCLOSURES.name: sorted(RISK_DISCLOSURES.codes[i] for i in items[k]),
                HARMS_EXPLAINED.name: HARMS_EXPLAINED.codes[harms[k]],
                "evidence_explained": None,
            }
        )
        for name, pair in cases.items():
            if pair[k] is not None:
                start, end, claim_type, evidence = pair[k]
                spans.append(
                    {
                        "annotation_uid": uid,
                        "region_id": f"{name}-{k}",
                        "start": start,
                        "end": end,
                        "text": f"{name} text",
                        CLAIM_TYPE.name: CLAIM_TYPE.codes[claim_type],
                        EVIDENCE.name: EVIDENCE.codes[evidence],
                        "result_origin": 3,
                        "evidence_origin": 3,
                    }
                )
    return pd.DataFrame(units), pd.DataFrame(spans, columns=SPAN_COLUMNS)


def expected_row(a, b) -> dict:
    """boundary_only / label / no_span for one case, from its two spans."""
    if b is None:
        return {"boundary_only": "", "label": "", "no_span": "ann-b"}
    differ = [f for f, i in ((CLAIM_TYPE.name, 2), (EVIDENCE.name, 3)) if a[i] != b[i]]
    boundary = "ann-a|ann-b" if not differ and a[:2] != b[:2] else ""
    return {"boundary_only": boundary, "label": "; ".join(f"{f}: ann-a|ann-b" for f in differ), "no_span": ""}


def test_boundary_only_and_label_disagreements_are_separate_columns():
    units, spans = tables(
        CASES, ("satisfactory", "not_satisfactory"), (["side_effects"], ["side_effects", "misuse_potential"])
    )
    table = disagreements(units, spans)
    assert list(table.columns) == COLUMNS
    spans_rows = {r.text.split(" ")[0]: r for r in table.itertuples() if r.unit.startswith("span ")}
    for name, (a, b) in CASES.items():
        expected = expected_row(a, b)
        if not any(expected.values()):
            assert name not in spans_rows  # nothing to adjudicate
            continue
        row = spans_rows[name]
        assert {k: getattr(row, k) for k in expected} == expected, name
        anchor = min(s[:2] for s in (a, b) if s)  # the unit is named by its first span
        assert row.unit == f"span {anchor[0]}-{anchor[1]}"
        assert row.offsets == "; ".join(f"{w}: {s[0]}-{s[1]}" for w, s in (("ann-a", a), ("ann-b", b)) if s)
    article = {r.unit: r for r in table.itertuples() if not r.unit.startswith("span ")}
    assert article[HARMS_EXPLAINED.name].label == "harms_explained: ann-a|ann-b"
    assert article["risk_disclosures.misuse_potential"].label == "risk_disclosures: ann-a|ann-b"
    assert "risk_disclosures.side_effects" not in article  # both ticked it
    assert all(r.boundary_only == "" for r in article.values())


def test_every_column_of_the_csv_is_described_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("disagreements.csv columns") :]
    for column in COLUMNS:
        assert re.search(rf"`{column}`", section), column
