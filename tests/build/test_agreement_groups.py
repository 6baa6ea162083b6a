"""Agreement with and without a prediction shown (builders/build/anchoring.py): the group of each
annotation is decided from its provenance, and each group's figures are those of agreement on
that group's annotations alone (the model in both, never a rater)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from builders.build.agreement import AGREEMENT_UNIT_COLUMNS, agreement
from builders.build.agreement_card import agreement_markdown
from builders.build.anchoring import NOT_SHOWN, PREDICTION_SHOWN_RULE, SHOWN, prediction_shown
from builders.build.read import read_labels
from builders.build.spans import SpanGroups
from builders.corpus.records import load_corpus
from builders.project import load_project
from builders.schema import HUMAN, MODEL, RESULT_ORIGIN_CODES
from tests.conftest import copy_project, khc


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    project = load_project(copy_project(tmp_path_factory.mktemp("groups") / "p"))
    return read_labels(project, load_corpus(project))


def shown_on(labels, marks: dict[str, str]):
    """The fixture's labels with annotations marked as made with a prediction shown: `marks` maps
    an annotation_uid to how (`parent`: a parent_prediction; `span`: one span's result origin
    `prediction`; `answer`: harms_explained's origin `prediction-changed`)."""
    units, spans = labels.units.copy(), labels.spans.copy()
    for uid, how in marks.items():
        row = units.index[units["annotation_uid"] == uid][0]
        if how == "parent":
            units.loc[row, "parent_prediction"] = 9000 + row
        elif how == "answer":
            units.loc[row, "harms_explained_origin"] = RESULT_ORIGIN_CODES["prediction-changed"]
        else:
            spans.loc[spans.index[spans["annotation_uid"] == uid][0], "result_origin"] = RESULT_ORIGIN_CODES[
                "prediction"
            ]
    return units, spans


def human_uids(labels, article_id: str) -> list[str]:
    units = labels.units
    return units.loc[(units["origin"] == HUMAN) & (units["article_id"] == article_id), "annotation_uid"].tolist()


def test_the_rule_reads_parent_prediction_and_every_result_origin(labels):
    uids = labels.units.loc[labels.units["origin"] == HUMAN, "annotation_uid"].tolist()
    with_spans = set(labels.spans["annotation_uid"])
    span_uid = next(u for u in uids if u in with_spans)
    parent_uid, answer_uid = [u for u in uids if u != span_uid][:2]
    units, spans = shown_on(labels, {parent_uid: "parent", answer_uid: "answer", span_uid: "span"})
    shown = prediction_shown(units, SpanGroups.of(units, spans))
    assert set(units.loc[shown, "annotation_uid"]) == {parent_uid, answer_uid, span_uid}
    assert not shown[(units["origin"] == MODEL).to_numpy()].any()  # a model's labels belong to no group
    # the fixture as it is: annotations made through the API carry no origin, so no sign of a prediction
    assert not prediction_shown(labels.units, SpanGroups.of(labels.units, labels.spans)).any()


def group_expected(units, spans, rows) -> dict:
    """Agreement computed on the group's annotations alone (its people and every model)."""
    chosen = units[rows].reset_index(drop=True)
    return agreement(chosen, spans[spans["annotation_uid"].isin(chosen["annotation_uid"])].reset_index(drop=True))


@pytest.mark.parametrize("mixed", [False, True])
def test_each_group_is_agreement_on_its_own_annotations(labels, mixed):
    first = sorted(labels.units.loc[labels.units["origin"] == HUMAN, "article_id"].unique())[0]
    marked = human_uids(labels, first)
    marks = {uid: "parent" for uid in (marked[:1] if mixed else marked)}  # mixed: one person saw it, the others not
    units, spans = shown_on(labels, marks)
    report = agreement(units, spans)
    human = (units["origin"] == HUMAN).to_numpy()
    shown = units["annotation_uid"].isin(marks).to_numpy()
    for name, chosen in ((SHOWN, shown), (NOT_SHOWN, human & ~shown)):
        group, expected = report["by_prediction_shown"][name], group_expected(units, spans, ~human | chosen)
        assert group["human_annotations"] == int(chosen.sum())
        assert group["articles"] == units.loc[chosen, "article_id"].nunique()
        for key in ("annotators", "krippendorff_alpha", "pairs", "model_vs_human"):
            assert group[key] == expected[key], (name, key)
    assert report["prediction_shown_rule"] == PREDICTION_SHOWN_RULE
    if not mixed:  # two or more people saw the prediction on that article: human-human units in the group
        assert report["by_prediction_shown"][SHOWN]["krippendorff_alpha"]["claim_type"]["units"] > 0
    markdown = agreement_markdown(report)
    for name in (SHOWN, NOT_SHOWN):
        group = report["by_prediction_shown"][name]
        assert f"{group['human_annotations']} ({group['articles']})" in markdown


def test_the_agreement_unit_columns_carry_what_the_rule_reads(labels):
    units, spans = shown_on(labels, {human_uids(labels, "khc-000002")[0]: "answer"})
    narrow = units[AGREEMENT_UNIT_COLUMNS]  # what the build's helper process receives
    groups = SpanGroups.of(units, spans)
    assert (prediction_shown(narrow, groups) == prediction_shown(units, groups)).all()
    assert prediction_shown(narrow, groups).sum() == 1


def test_the_build_reports_both_groups_with_unit_counts(tmp_path):
    root = copy_project(tmp_path / "p")
    assert khc("build", root=root)[0] == 0
    report = json.loads((root / "dist" / "agreement.json").read_text(encoding="utf-8"))
    project = load_project(root)
    labels = read_labels(project, load_corpus(project))
    n_human = int((labels.units["origin"] == HUMAN).sum())
    groups = report["by_prediction_shown"]
    assert groups[SHOWN]["human_annotations"] + groups[NOT_SHOWN]["human_annotations"] == n_human
    for group in groups.values():
        assert all("units" in fig for fig in group["krippendorff_alpha"].values())
    card = (root / "dist" / "README.md").read_text(encoding="utf-8")
    assert "prediction shown" in card and "no prediction shown" in card
    assert np.isfinite([f["value"] for f in report["krippendorff_alpha"].values() if f["value"] is not None]).all()
