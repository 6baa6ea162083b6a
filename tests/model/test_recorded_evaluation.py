"""The card's "Baseline" section comes from the committed evaluation `khc model evaluate` writes
(annotations/baseline-evaluation.json): current, stale, absent or damaged; and the reference
leaves out what people only accepted unchanged from a prediction."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from builders.model import EVALUATION_FILE
from builders.model.data import load_training
from builders.model.evaluate import cross_validate, detection_counts, independent
from builders.model.report import fig
from builders.project import load_project
from tests.conftest import NEW_SNAPSHOT, REPO, copy_project, declare, khc, load_export, save_export
from tests.model.conftest import pilot_project


def _card(root) -> str:
    return (root / "dist" / "README.md").read_text(encoding="utf-8")


def _baseline(card: str) -> str:
    start = card.index("## Baseline")
    return card[start : card.index("\n## ", start + 1)]


def test_evaluate_records_what_the_card_shows(trained, tmp_path, capsys):
    root = tmp_path / "p"
    shutil.copytree(trained.root, root)
    code, printed, err = khc("model", "evaluate", root=root, capsys=capsys)
    assert code == 0, err
    record = json.loads((root / EVALUATION_FILE).read_text(encoding="utf-8"))
    data = load_training(load_project(root))
    assert record["training_data_sha256"] == data.sha256 == trained.card["training_data_sha256"]
    assert record["model_version"] == trained.card["model_version"]  # the version `khc model train` gives
    assert record["evaluation"] == trained.card["evaluation"]
    assert record["schema_version"] == trained.card["schema_version"]
    assert EVALUATION_FILE in printed

    assert khc("build", root=root, capsys=capsys)[0] == 0
    section = _baseline(_card(root))
    evaluation = record["evaluation"]
    detection = evaluation["detection"]
    assert record["model_version"] in section
    assert evaluation["reference"]["description"] in section
    assert f"| {fig(detection['model']['f1'])} | {fig(detection['baseline']['f1'])} |" in section
    assert f"{detection['units']} claims" in section
    assert f"every sentence a claim gives detection F1 {fig(detection['every_sentence']['f1'])}" in section
    beats = (detection["model"]["f1"] or 0) > (detection["every_sentence"]["f1"] or 0)
    assert ("does not beat marking every sentence" in section) is not beats
    assert "older state" not in section
    manifest = json.loads((root / "dist" / "manifest.json").read_text(encoding="utf-8"))
    assert EVALUATION_FILE in manifest["inputs"]  # a rebuild knows which figures it showed
    # the evaluation feeds only the card: dist/'s labels are still current for training
    assert load_training(load_project(root)).source == "dist/"


def test_figures_of_older_labels_are_marked_as_such(trained, tmp_path, capsys):
    root = tmp_path / "p"
    shutil.copytree(trained.root, root)
    assert khc("model", "evaluate", root=root, capsys=capsys)[0] == 0
    recorded = json.loads((root / EVALUATION_FILE).read_text(encoding="utf-8"))["training_data_sha256"]
    declare(root, model_version="maintainers-pilot-v1")  # other labels than the evaluated ones
    current = load_training(load_project(root)).sha256
    assert current != recorded
    code, _, err = khc("build", root=root, capsys=capsys)
    assert code == 0, err
    section = _baseline(_card(root))
    assert "These figures are from an older state of the labels" in section
    assert recorded[:12] in section and current[:12] in section
    assert "khc model evaluate" in section


def test_without_an_evaluation_the_card_says_how_to_make_one(tmp_path, capsys):
    root = pilot_project(tmp_path / "p")
    assert not (root / EVALUATION_FILE).exists()
    assert khc("build", root=root, capsys=capsys)[0] == 0
    section = _baseline(_card(root))
    assert "No baseline evaluation is recorded" in section and "`khc model evaluate`" in section
    assert "| label |" not in section


def test_a_damaged_evaluation_stops_the_build_and_names_the_file(tmp_path, capsys):
    root = pilot_project(tmp_path / "p")
    for content, says in (("{", "not a readable baseline evaluation"), ('{"format": 1}', "incomplete")):
        (root / EVALUATION_FILE).write_text(content, encoding="utf-8")
        code, _, err = khc("build", root=root, capsys=capsys)
        assert code != 0
        assert EVALUATION_FILE in err and says in err and "khc model evaluate" in err
        assert not (root / "dist").exists()  # no partial output


def test_votes_accepted_unchanged_are_left_out_of_the_reference(tmp_path, capsys):
    root = copy_project(tmp_path / "p")
    data = load_training(load_project(root))
    single = data.articles[(data.articles["origin"] == "human") & (data.articles["n_annotators"] == 1)]
    article = next(a for a in single["article_id"] if (data.claims["article_id"] == a).any())
    path = root / NEW_SNAPSHOT
    tasks = load_export(path)
    for task in tasks:
        if task["data"]["article_id"] == article:
            for annotation in task["annotations"]:
                for result in annotation["result"]:
                    result["origin"] = "prediction"  # submitted as the prediction gave it
    save_export(path, tasks)
    data = load_training(load_project(root))
    accepted = data.claims[data.claims["n_accepted_unchanged"] >= data.claims["n_marked"]]
    assert len(accepted) and set(accepted["article_id"]) == {article}
    report = cross_validate(data, 16)
    left_out = report["reference"]["left_out_accepted_unchanged"]
    assert left_out == {"claims": len(accepted), "articles": 1}
    assert report["detection"]["units"] == len(data.claims) - len(accepted)
    assert report["claim_type"]["units"] == int(data.claims["claim_type"].notna().sum()) - int(
        accepted["claim_type"].notna().sum()
    )
    assert "left out of the reference" in report["reference"]["description"]


def test_a_prediction_matching_an_accepted_claim_counts_neither_way():
    frame = lambda spans: pd.DataFrame([("a", s, e) for s, e in spans], columns=["article_id", "start", "end"])  # noqa: E731
    predicted = frame([(0, 10), (20, 30), (40, 50)])
    counts = detection_counts(predicted, frame([(0, 10), (60, 70)]), ["a"], frame([(20, 30)]))
    assert counts == {"tp": 1, "fp": 1, "fn": 1}
    votes, accepted, annotators = pd.Series([2, 2, 3, 1]), pd.Series([1, 0, 1, 1]), pd.Series([2, 2, 3, 1])
    assert independent(votes, accepted, annotators).tolist() == [False, True, True, False]


def test_the_committed_evaluation_is_of_the_committed_labels():
    """The committed card's Baseline is current: rerun `khc model evaluate` when labels change."""
    record = json.loads((REPO / EVALUATION_FILE).read_text(encoding="utf-8"))
    data = load_training(load_project(REPO))
    assert record["training_data_sha256"] == data.sha256
    assert record["evaluation"] == cross_validate(data, record["seed"])
