"""The pilot pre-annotations: regenerable from their spec, complete, and never called human."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from datasets import load_dataset

from builders.labelstudio.preannotate import build_predictions
from builders.project import load_project
from tests.conftest import REPO, copy_project, declare, khc

PILOT = REPO / "annotations" / "pilot"
# Every pilot version stays committed (history; the CHANGELOG's label changes are computed from them).
SPECS = sorted(PILOT.glob("pilot-v*.yaml"))


def spec_of(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def predictions_of(spec_path: Path) -> Path:
    return REPO / "annotations" / "predictions" / f"{spec_of(spec_path)['model_version']}.json"


specs = pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])


def test_there_are_pilot_versions_and_one_follows_the_current_guidelines():
    assert [p.name for p in SPECS][:2] == ["pilot-v1.yaml", "pilot-v2.yaml"]
    current = load_project(REPO).guideline_version()
    assert current in {str(spec_of(p)["guideline_version"]) for p in SPECS}, "re-label the pilot under the guidelines"


@specs
def test_committed_predictions_are_what_the_spec_generates(spec_path, tmp_path, capsys):
    root = copy_project(tmp_path / "p", with_fixture_labels=False)
    (root / "annotations" / "pilot").mkdir()
    shutil.copyfile(spec_path, root / "annotations" / "pilot" / spec_path.name)
    code, out, err = khc("preannotate", str(root / "annotations" / "pilot" / spec_path.name), root=root, capsys=capsys)
    assert code == 0, err
    assert "origin = model" in out
    committed = predictions_of(spec_path)
    generated = root / "annotations" / "predictions" / committed.name
    assert generated.read_bytes() == committed.read_bytes(), "run `khc preannotate` and commit the result"


@specs
def test_every_article_is_labelled_completely(spec_path):
    spec = spec_of(spec_path)
    tasks = json.loads(predictions_of(spec_path).read_text(encoding="utf-8"))
    assert sorted(t["data"]["article_id"] for t in tasks) == [f"khc-{i:06d}" for i in range(1, 6)]
    for task in tasks:
        (prediction,) = task["predictions"]
        names = [r["from_name"] for r in prediction["result"]]
        assert 20 <= names.count("claim_type") <= 60, task["data"]["article_id"]
        assert names.count("evidence") == names.count("claim_type")  # every span has its evidence
        assert {"risk_disclosures", "harms_explained", "evidence_explained"} <= set(names)
        assert prediction["model_version"] == spec["model_version"]
        assert task["data"]["guideline_version"] == str(spec["guideline_version"])


@pytest.fixture(scope="module", params=SPECS, ids=[p.stem for p in SPECS])
def pilot_build(request, tmp_path_factory):
    predictions = predictions_of(request.param)
    root = copy_project(tmp_path_factory.mktemp("pilot") / "p", with_fixture_labels=False)
    (root / "annotations" / "predictions").mkdir()
    shutil.copyfile(predictions, root / "annotations" / "predictions" / predictions.name)
    declare(root, model_version=predictions.stem)  # the version this build aggregates
    assert khc("build", root=root)[0] == 0
    return root, predictions.stem


def test_pilot_labels_enter_the_dataset_as_model_labels(pilot_build):
    root, _ = pilot_build
    for config in ("claims", "articles", "annotations"):
        ds = load_dataset(str(root / "dist"), config)
        origin = ds["train"].features["origin"].names
        values = {origin[o] for split in ds for o in ds[split]["origin"] if o is not None}
        assert values == {"model"}, config


def test_card_says_no_human_annotation_and_agreement_not_available(pilot_build):
    root, model_version = pilot_build
    card = (root / "dist" / "README.md").read_text(encoding="utf-8")
    assert "No human annotation has been collected yet" in card
    assert f"`{model_version}`" in card  # named as the pre-annotations' model version ...
    assert "People compared: none" in card and "Models are never counted as raters" in card  # ... never a rater
    assert "| `claim_type` | not available: fewer than two annotators labelled any shared unit | — | 0 |" in card
    agreement = json.loads((root / "dist" / "agreement.json").read_text())
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
