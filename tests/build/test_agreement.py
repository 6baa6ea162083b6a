"""Agreement figures: a hand-computed case, 'not available' cases, and the fixture checked
against the krippendorff and scikit-learn packages directly."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from builders.build.agreement import agreement
from builders.build.disagreements import disagreements
from builders.build.read import read_labels
from builders.corpus.records import load_corpus
from builders.features import SPAN_COLUMNS
from builders.project import load_project
from builders.schema import HARMS_EXPLAINED, HUMAN
from tests.conftest import copy_project


def article_units(answers: dict[str, list[str | None]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Units table where annotator X gave answers[X][i] as harms_explained on article i (a name,
    stored as its ClassLabel code, as the reader stores it)."""
    rows = []
    for annotator, values in answers.items():
        for i, value in enumerate(values):
            if value is not None:
                rows.append(
                    {
                        "annotation_uid": f"{annotator}-{i}",
                        "article_id": f"khc-{i:06d}",
                        "annotator": annotator,
                        "origin": HUMAN,
                        "risk_disclosures": [],
                        "harms_explained": HARMS_EXPLAINED.codes[value],
                        "evidence_explained": None,
                    }
                )
    spans = pd.DataFrame(columns=SPAN_COLUMNS)
    return pd.DataFrame(rows), spans


def test_hand_computed_nominal_alpha():
    # Units (a, b): (x, x) (x, y) (y, y) (y, y). Coincidences: o_xx=2, o_xy=o_yx=1, o_yy=4; n_x=3, n_y=5, n=8.
    # D_o = 2/8; D_e = 2*3*5/(8*7) = 30/56; alpha = 1 - (2/8)/(30/56) = 8/15.
    x, y = "satisfactory", "not_satisfactory"
    units, spans = article_units({"a": [x, x, y, y], "b": [x, y, y, y]})
    report = agreement(units, spans)
    assert {k: report["krippendorff_alpha"]["harms_explained"][k] for k in ("value", "units")} == {
        "value": round(8 / 15, 4),
        "units": 4,
    }
    kappa = report["pairs"][0]["cohen_kappa"]["harms_explained"]
    assert kappa["value"] == pytest.approx(cohen_kappa_score([x, x, y, y], [x, y, y, y]), abs=1e-4)


def test_one_annotator_is_not_available_never_one():
    units, spans = article_units({"a": ["satisfactory", "not_satisfactory"]})
    figure = agreement(units, spans)["krippendorff_alpha"]["harms_explained"]
    assert figure["value"] is None and figure["units"] == 0 and "fewer than two" in figure["not_available"]


def test_no_shared_unit_is_not_available():
    units, spans = article_units({"a": ["satisfactory", None], "b": [None, "satisfactory"]})
    figure = agreement(units, spans)["krippendorff_alpha"]["harms_explained"]
    assert figure["value"] is None and "fewer than two" in figure["not_available"]


def test_a_single_value_everywhere_is_not_available():
    units, spans = article_units({"a": ["satisfactory"] * 3, "b": ["satisfactory"] * 3})
    report = agreement(units, spans)
    assert report["krippendorff_alpha"]["harms_explained"]["value"] is None
    assert report["krippendorff_alpha"]["harms_explained"]["units"] == 3
    assert report["pairs"][0]["cohen_kappa"]["harms_explained"]["value"] is None


@pytest.fixture(scope="module")
def fixture_labels(tmp_path_factory):
    project = load_project(copy_project(tmp_path_factory.mktemp("agr") / "p"))
    return read_labels(project, load_corpus(project))


def test_fixture_claim_type_alpha_matches_the_krippendorff_package(fixture_labels):
    # Spans the humans share, in order S1 S2 S3 S5 (khc-000001), T1 (khc-000002), P1 P2 P3 (khc-000004);
    # a span only one annotator marked is not a shared unit. Columns: ann-a, ann-b, ann-c.
    shared = [
        ("background", "background", "background"),
        ("efficacy", "efficacy", "comparative"),
        ("recommendation", "recommendation", None),
        ("comparative", "safety", "efficacy"),
        ("mechanism", "mechanism", None),
        ("procedure", "procedure", None),
        ("efficacy", "efficacy", None),
        ("mechanism", "mechanism", None),
    ]
    codes = {v: i for i, v in enumerate(sorted({v for row in shared for v in row if v}))}
    matrix = np.array([[codes[v] if v else np.nan for v in row] for row in shared], dtype=float).T
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    report = agreement(fixture_labels.units, fixture_labels.spans, ["ann-a", "ann-b", "ann-c"])
    assert report["krippendorff_alpha"]["claim_type"]["value"] == round(expected, 4)
    assert report["krippendorff_alpha"]["claim_type"]["units"] == 8
    pair = next(p for p in report["pairs"] if p["annotators"] == ["ann-a", "ann-b"])
    a = [r[0] for r in shared]
    b = [r[1] for r in shared]
    assert pair["cohen_kappa"]["claim_type"]["value"] == pytest.approx(cohen_kappa_score(a, b), abs=1e-4)
    assert pair["cohen_kappa"]["claim_type"]["units"] == 8
    # ann-a and ann-b: 17 spans on shared articles; 7 exact pairs (S2 differs), 8 by overlap.
    assert pair["span_f1"]["exact"] == {"value": round(14 / 17, 4), "units": 17, "matched": 7}
    assert pair["span_f1"]["overlap"] == {"value": round(16 / 17, 4), "units": 17, "matched": 8}


def test_evidence_is_ordinal_without_not_applicable(fixture_labels):
    report = agreement(fixture_labels.units, fixture_labels.spans, ["ann-a", "ann-b"])
    # Shared spans with an evidence rank: S1 S2 S5 T1 P1 P2 P3 (S3 is not_applicable for both).
    a = [0, 3, 0, 0, 0, 3, 0]
    b = [0, 3, 0, 2, 0, 3, 2]
    expected = krippendorff.alpha(reliability_data=np.array([a, b], dtype=float), level_of_measurement="ordinal")
    assert report["krippendorff_alpha"]["evidence"]["value"] == round(expected, 4)
    assert report["krippendorff_alpha"]["evidence"]["units"] == 7


def test_unanswered_article_section_is_missing_not_absent(fixture_labels):
    # The fixture model's prediction on khc-000001 answers no article-level question.
    report = agreement(fixture_labels.units, fixture_labels.spans, ["ann-a", "model/fixture-model-v1"])
    assert report["krippendorff_alpha"]["risk_disclosures.side_effects"]["units"] == 0


def test_disagreement_list_for_adjudication(fixture_labels):
    table = disagreements(fixture_labels.units, fixture_labels.spans, ["ann-a", "ann-b", "ann-c"])
    rows = {(r.article_id, r.unit): r.labels for r in table.itertuples()}
    s5 = next(v for (a, u), v in rows.items() if a == "khc-000001" and "comparative/none" in v and "safety" in v)
    assert "ann-c: efficacy/anecdote" in s5
    s4 = next(v for (a, u), v in rows.items() if a == "khc-000001" and "procedure/none" in v)
    assert "ann-a: (no span)" in s4
    assert (
        rows[("khc-000001", "evidence_explained")]
        == "ann-a: not_satisfactory; ann-b: satisfactory; ann-c: not_applicable"
    )
    assert ("khc-000001", "risk_disclosures.medical_supervision") not in rows  # all three ticked it


def test_coded_span_units_equal_the_dict_table_they_replace():
    """span_pass codes answers as columns, batch by batch (Coder); the result must be what
    code_matrix gives for the unit → {annotator: value} dict built the plain way, repeated
    unit keys (last answer wins) included."""
    from builders.build.coding import Coder, code_matrix

    rng = np.random.default_rng(7)
    annotators = ["a", "b", "c", "model/x"]
    coder, table = Coder(len(annotators)), {}
    for batch in range(4):  # keys of different batches never meet: the batch is part of the key
        article, start = rng.integers(0, 10, 100), rng.integers(0, 4, 100)
        who, value = rng.integers(0, len(annotators), 100), rng.choice([3, 0, 5], 100)
        coder.add([np.full(100, batch), article, start], who, value)
        for key in zip(article.tolist(), start.tolist(), who.tolist(), value.tolist(), strict=True):
            table.setdefault((batch, *key[:2]), {})[annotators[key[2]]] = key[3]
    matrix, values = coder.coded()
    expected_matrix, expected_values = code_matrix(table, annotators)
    assert values == expected_values
    assert (matrix == expected_matrix).all()


def test_coded_article_answers_equal_the_dict_tables_they_replace():
    """The article-level answers coded over columns are code_matrix of the plain
    article → {annotator: value} tables (the first answer of an annotator counts; unanswered
    questions and annotations that judged nothing left out)."""
    from builders.build.agreement import article_answers
    from builders.build.coding import code_matrix
    from builders.build.disagreements import _article_tables
    from builders.schema import EVIDENCE_EXPLAINED, RISK_DISCLOSURES

    rng = np.random.default_rng(13)
    n = 400
    items = len(RISK_DISCLOSURES.names)
    units = pd.DataFrame(
        {
            "article_id": [f"khc-{i:03d}" for i in rng.integers(0, 60, n)],
            "annotator": rng.choice(["a", "b", "c"], n),  # repeats: several annotations of one annotator
            "origin": HUMAN,
            RISK_DISCLOSURES.name: [
                None if rng.random() < 0.1 else sorted(set(rng.integers(0, items, rng.integers(0, 4)).tolist()))
                for _ in range(n)
            ],
            HARMS_EXPLAINED.name: pd.array(
                [None if rng.random() < 0.3 else int(rng.integers(0, 3)) for _ in range(n)], dtype="Int8"
            ),
            EVIDENCE_EXPLAINED.name: pd.array([None] * n, dtype="Int8"),
        }
    )
    annotators = ["a", "b", "c"]
    got = article_answers(units, annotators)
    expected = _article_tables(units, annotators)
    assert [u.label for u in got] == [u.label for u in expected]
    for g, e in zip(got, expected, strict=True):
        matrix, values = code_matrix(e.table, annotators)
        assert g.coded[1] == values and g.coded[0].shape == matrix.shape and (g.coded[0] == matrix).all()
