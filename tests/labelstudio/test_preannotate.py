"""The pilot pre-annotations: regenerable from their spec, complete, and never called human."""

from __future__ import annotations

import json
import shutil

import pytest
from datasets import load_dataset

from builders.labelstudio.preannotate import build_predictions
from builders.project import load_project
from tests.conftest import REPO, copy_project, khc

SPEC = REPO / "annotations" / "pilot" / "pilot-v1.yaml"
PREDICTIONS = REPO / "annotations" / "predictions" / "maintainers-pilot-v1.json"


def test_committed_predictions_are_what_the_spec_generates(tmp_path, capsys):
    root = copy_project(tmp_path / "p", with_fixture_labels=False)
    (root / "annotations" / "pilot").mkdir()
    shutil.copyfile(SPEC, root / "annotations" / "pilot" / SPEC.name)
    code, out, err = khc("preannotate", str(root / "annotations" / "pilot" / SPEC.name), root=root, capsys=capsys)
    assert code == 0, err
    assert "origin = model" in out
    generated = root / "annotations" / "predictions" / PREDICTIONS.name
    assert generated.read_bytes() == PREDICTIONS.read_bytes(), "run `khc preannotate` and commit the result"


def test_every_article_is_labelled_completely():
    tasks = json.loads(PREDICTIONS.read_text(encoding="utf-8"))
    assert sorted(t["data"]["article_id"] for t in tasks) == [f"khc-{i:06d}" for i in range(1, 6)]
    for task in tasks:
        (prediction,) = task["predictions"]
        names = [r["from_name"] for r in prediction["result"]]
        assert 20 <= names.count("claim_type") <= 60, task["data"]["article_id"]
        assert names.count("evidence") == names.count("claim_type")  # every span has its evidence
        assert {"risk_disclosures", "harms_explained", "evidence_explained"} <= set(names)
        assert prediction["model_version"] == "maintainers-pilot-v1"
        assert task["data"]["guideline_version"] == load_project(REPO).guideline_version()


@pytest.fixture(scope="module")
def pilot_build(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("pilot") / "p", with_fixture_labels=False)
    (root / "annotations" / "predictions").mkdir()
    shutil.copyfile(PREDICTIONS, root / "annotations" / "predictions" / PREDICTIONS.name)
    assert khc("build", root=root)[0] == 0
    return root


def test_pilot_labels_enter_the_dataset_as_model_labels(pilot_build):
    for config in ("claims", "articles", "annotations"):
        ds = load_dataset(str(pilot_build / "dist"), config)
        origin = ds["train"].features["origin"].names
        values = {origin[o] for split in ds for o in ds[split]["origin"] if o is not None}
        assert values == {"model"}, config


def test_card_says_no_human_annotation_and_agreement_not_available(pilot_build):
    card = (pilot_build / "dist" / "README.md").read_text(encoding="utf-8")
    assert "No human annotation has been collected yet" in card
    assert "`model/maintainers-pilot-v1`" in card and "`maintainers-pilot-v1`" in card
    assert "| `claim_type` | not available: fewer than two annotators labelled any shared unit | 0 |" in card
    agreement = json.loads((pilot_build / "dist" / "agreement.json").read_text())
    assert all(f["value"] is None for f in agreement["krippendorff_alpha"].values())


def test_a_bad_spec_names_the_article_and_claim(tmp_path):
    root = copy_project(tmp_path / "p", with_fixture_labels=False)
    spec = {
        "model_version": "x",
        "articles": {
            "khc-000001": {
                "claims": [
                    ["efficacy", "none", "ketamine cures ADHD overnight"],
                    ["miracle", "none", "Symptoms of ADHD"],
                    ["safety", "none", "ADHD"],
                ]
            }
        },
    }
    with pytest.raises(Exception) as caught:
        build_predictions(load_project(root), spec, "annotations/pilot/x.yaml")
    text = str(caught.value)
    assert "annotations/pilot/x.yaml: khc-000001, claim 1: the quote 'ketamine cures ADHD overnight' is not in" in text
    assert "claim 2: claim_type 'miracle' is not in schema v1" in text
    assert "claim 3: the quote occurs" in text and "occurrence: N" in text
