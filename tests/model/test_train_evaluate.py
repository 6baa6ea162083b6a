"""`khc model train` and `khc model evaluate`: deterministic, honest about the reference, no NaN."""

from __future__ import annotations

import hashlib
import json
import math

from builders.model import EVALUATION_FILE
from builders.model.data import load_training
from builders.model.folds import cv_groups
from builders.model.report import baseline_section
from builders.project import load_project
from builders.schema import CLAIM_TYPE, EVIDENCE, RISK_DISCLOSURES, SCHEMA_VERSION
from tests.conftest import khc
from tests.model.conftest import pilot_project


def _numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, float):
        yield value


def test_card_records_what_decides_the_model(trained):
    card, project = trained.card, load_project(trained.root)
    assert trained.model.name == card["model_version"]
    assert card["model_version"].startswith("baseline-") and len(card["model_version"]) == len("baseline-") + 8
    assert card["schema_version"] == SCHEMA_VERSION
    assert card["guideline_version"] == project.guideline_version()
    assert set(card["libraries"]) >= {"scikit-learn", "skops", "blingfire", "numpy", "python"}
    assert card["training_data_sha256"] == load_training(project).sha256
    digest = hashlib.sha256((trained.model / "model.skops").read_bytes()).hexdigest()
    assert card["model_sha256"] == digest
    assert (trained.root / "dist").exists() is False, "training must not write dist/ (it builds in a temp folder)"


def test_test_split_is_held_out(trained):
    project = load_project(trained.root)
    data = load_training(project)
    splits = dict(line.split(",") for line in project.split_file.read_text(encoding="utf-8").splitlines()[1:] if line)
    held = {a for a, s in splits.items() if s == "test"}
    assert held and not held & set(data.articles["article_id"])
    assert trained.card["left_out_articles"]["test split (held out)"] == len(held)
    assert trained.card["training_articles"] == len(data.articles)


def test_evaluation_is_grouped_by_article_and_counts_its_units(trained):
    evaluation = trained.card["evaluation"]
    data = load_training(load_project(trained.root))
    scheme, folds = cv_groups(data.articles)
    assert evaluation["scheme"] == scheme and evaluation["folds"] == len(set(folds.values()))
    detection = evaluation["detection"]
    assert detection["units"] == len(data.claims) == detection["model"]["tp"] + detection["model"]["fn"]
    tp, fp, fn = (detection["model"][k] for k in ("tp", "fp", "fn"))
    assert math.isclose(detection["model"]["f1"], 2 * tp / (2 * tp + fp + fn), abs_tol=1e-4)
    for family in (CLAIM_TYPE, EVIDENCE):
        figures = evaluation[family.name]
        assert figures["units"] == int(data.claims[family.name].notna().sum())
        assert set(figures["model"]["per_class"]) == set(family.names)
        support = data.claims[family.name].value_counts()
        for name, value in figures["model"]["per_class"].items():
            assert value["support"] == int(support.get(name, 0))
    items = evaluation[RISK_DISCLOSURES.name]
    assert set(items) == set(RISK_DISCLOSURES.names)
    for item, value in items.items():
        assert value["present"] == int(data.articles[RISK_DISCLOSURES.name].map(lambda v, i=item: i in v).sum())
    assert not any(math.isnan(x) for x in _numbers(evaluation))
    json.dumps(evaluation, allow_nan=False)


def test_reference_is_named_as_the_pre_annotations(trained):
    evaluation = trained.card["evaluation"]
    assert evaluation["reference"]["origin_counts"] == {"model": trained.card["training_articles"]}
    section = baseline_section(evaluation, trained.card["model_version"])
    assert section.startswith("## Baseline")
    assert "pre-annotations (origin = model), not human labels" in section
    assert "nan" not in section.lower()
    assert f"{evaluation['detection']['units']} claims" in section


def test_training_is_deterministic(trained, tmp_path, capsys):
    again = pilot_project(tmp_path / "again")
    code, _out, err = khc("model", "train", "--out", str(tmp_path / "m"), root=again, capsys=capsys)
    assert code == 0, err
    card = json.loads((tmp_path / "m" / trained.card["model_version"] / "card.json").read_text(encoding="utf-8"))
    assert card["evaluation"] == trained.card["evaluation"]
    assert card["training_data_sha256"] == trained.card["training_data_sha256"]


def test_evaluate_writes_json_and_markdown(trained, tmp_path, capsys):
    out, md = tmp_path / "eval.json", tmp_path / "baseline.md"
    code, printed, err = khc(
        "model", "evaluate", "--json", str(out), "--markdown", str(md), root=trained.root, capsys=capsys
    )
    assert code == 0, err
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["training_data_sha256"] == trained.card["training_data_sha256"]
    assert report["evaluation"] == trained.card["evaluation"]
    assert not (trained.root / EVALUATION_FILE).exists()  # --json writes there instead of the card's file
    assert md.read_text(encoding="utf-8").startswith("## Baseline")
    assert "reference: the maintainers' pre-annotations" in printed


def test_human_labels_are_the_reference_where_they_exist(project_dir, tmp_path, capsys):
    """The fixture exports hold human annotations for some articles: the report says so."""
    code, _, err = khc("model", "evaluate", "--json", str(tmp_path / "e.json"), root=project_dir, capsys=capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))["evaluation"]
    data = load_training(load_project(project_dir))
    counts = data.articles["origin"].value_counts().to_dict()
    assert report["reference"]["origin_counts"] == dict(sorted(counts.items()))
    if counts.get("human") and counts.get("model"):
        assert "human labels for" in report["reference"]["description"]
