"""`khc preannotate --model`: Label Studio predictions from the baseline, never human labels;
model files that are corrupt, foreign or of another schema are refused; thin data is named."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import skops.io as sio
from datasets import load_dataset
from sklearn.preprocessing import FunctionTransformer

from builders.errors import KhcError
from builders.model.data import load_training
from builders.model.store import load
from builders.project import load_project
from tests.conftest import REPO, khc, tree_digest
from tests.model.conftest import pilot_project

NEW_ARTICLE = (
    "Ketamine infusions may ease treatment-resistant depression within hours, a 2019 study of 60 patients "
    "found. Side effects such as dizziness and nausea were common, and the FDA has not approved it for "
    "anxiety.\nTalk to your doctor before trying ketamine. It should only be given in a clinic under "
    "medical supervision, and long-term effects remain unknown.\n"
)


def _copy(trained, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(trained.root, root)
    return root, root / "models" / trained.model.name


def _predictions(root, version):
    return json.loads((root / "annotations" / "predictions" / f"{version}.json").read_text(encoding="utf-8"))


def test_an_ingested_article_gets_predictions_and_enters_the_build_as_model_labels(trained, tmp_path, capsys):
    root, model = _copy(trained, tmp_path)
    (tmp_path / "new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert khc("ingest", str(tmp_path / "new.txt"), root=root, capsys=capsys)[0] == 0
    new_id = json.loads((root / "corpus" / "articles.jsonl").read_text(encoding="utf-8").splitlines()[-1])["article_id"]
    code, out, err = khc("preannotate", "--model", str(model), root=root, capsys=capsys)
    assert code == 0, err
    assert "1 articles" in out and "origin = model" in out
    (task,) = _predictions(root, trained.card["model_version"])
    assert task["data"]["article_id"] == new_id and set(task) == {"data", "predictions"}
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == trained.card["model_version"]
    text = task["data"]["text"]
    regions = [r for r in prediction["result"] if r["from_name"] == "claim_type"]
    assert regions, "the model should find a claim in this article"
    for item in prediction["result"]:
        assert 0 <= item["score"] <= 1
        if "start" in item["value"]:
            assert text[item["value"]["start"] : item["value"]["end"]] == item["value"]["text"]
    assert 0 < prediction["score"] <= 1

    assert khc("build", root=root, capsys=capsys)[0] == 0
    articles = load_dataset(str(root / "dist"), "articles")
    for split in articles:
        origin = articles[split].features["origin"]
        for row in articles[split]:
            if row["article_id"] == new_id:
                assert origin.int2str(row["origin"]) == "model"
                assert row["n_claims"] == len(regions)
    # the baseline never learns from its own predictions: the training data is unchanged
    assert load_training(load_project(root)).sha256 == trained.card["training_data_sha256"]


def test_a_prediction_never_replaces_a_human_annotation(trained, project_dir, tmp_path, capsys):
    """The fixture project has human annotations of khc-000002: they still decide it."""
    model = trained.model
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 0, err
    # own caches: datasets reuses one for a folder whose README YAML is unchanged (stale data)
    before = load_dataset(str(project_dir / "dist"), "annotations", cache_dir=str(tmp_path / "hf-before"))
    exports = tree_digest(project_dir / "annotations" / "exports")
    code, _, err = khc("preannotate", "--model", str(model), "khc-000002", root=project_dir, capsys=capsys)
    assert code == 0, err
    assert tree_digest(project_dir / "annotations" / "exports") == exports
    assert khc("build", root=project_dir, capsys=capsys)[0] == 0
    after = load_dataset(str(project_dir / "dist"), "annotations", cache_dir=str(tmp_path / "hf-after"))
    origin = after["train"].features["origin"]

    def humans(ds):
        return sorted(
            (r["annotation_uid"], r["article_id"]) for s in ds for r in ds[s] if origin.int2str(r["origin"]) == "human"
        )

    assert humans(after) == humans(before)
    models = [r for s in after for r in after[s] if r["model_version"] == trained.card["model_version"]]
    assert models and all(origin.int2str(r["origin"]) == "model" for r in models)
    articles = load_dataset(str(project_dir / "dist"), "articles")
    row = next(r for s in articles for r in articles[s] if r["article_id"] == "khc-000002")
    assert articles["train"].features["origin"].int2str(row["origin"]) == "human"


def test_unknown_article_is_refused(trained, tmp_path, capsys):
    root, model = _copy(trained, tmp_path)
    code, _, err = khc("preannotate", "--model", str(model), "khc-999999", root=root, capsys=capsys)
    assert code == 1 and "khc-999999" in err and "not in the corpus" in err
    assert not (root / "annotations" / "predictions" / f"{model.name}.json").exists()


def test_preannotate_without_spec_or_model_says_what_to_do(trained, capsys):
    code, _, err = khc("preannotate", root=trained.root, capsys=capsys)
    assert code == 1 and "--model" in err


def _rewrite_card(model, **changes):
    card = json.loads((model / "card.json").read_text(encoding="utf-8"))
    card.update(changes)
    (model / "card.json").write_text(json.dumps(card), encoding="utf-8")


def test_corrupt_model_file_is_named(trained, tmp_path, capsys):
    root, model = _copy(trained, tmp_path)
    with (model / "model.skops").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\0" * 64)
    code, _, err = khc("preannotate", "--model", str(model), "khc-000001", root=root, capsys=capsys)
    assert code == 1 and "model.skops" in err and "corrupt" in err and "khc model train" in err


def test_file_with_a_foreign_type_is_refused_before_it_runs(trained, tmp_path):
    root, model = _copy(trained, tmp_path)
    sio.dump({"detect": FunctionTransformer(os.system)}, model / "model.skops")
    import hashlib

    _rewrite_card(model, model_sha256=hashlib.sha256((model / "model.skops").read_bytes()).hexdigest())
    with pytest.raises(KhcError, match="refused to load the model") as caught:
        load(model, load_project(root).guideline_version())
    assert "system" in str(caught.value) and str(model / "model.skops") in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"schema_version": "2"}, "schema v2"), ({"guideline_version": "9.0.0"}, "another major version")],
)
def test_model_of_another_schema_or_guideline_major_is_refused(trained, tmp_path, capsys, changes, message):
    root, model = _copy(trained, tmp_path)
    _rewrite_card(model, **changes)
    code, _, err = khc("preannotate", "--model", str(model), "khc-000001", root=root, capsys=capsys)
    assert code == 1 and message in err and "khc model train" in err


def test_a_folder_that_is_no_model(trained, tmp_path, capsys):
    code, _, err = khc("preannotate", "--model", str(tmp_path), "khc-000001", root=trained.root, capsys=capsys)
    assert code == 1 and "card.json" in err and "khc model train" in err


def test_one_labelled_article_trains_and_says_the_figures_mean_nothing(tmp_path, capsys):
    root = pilot_project(tmp_path / "p")
    path = root / "annotations" / "predictions" / f"{load_project(root).labelstudio.model_version}.json"
    splits = dict(line.split(",") for line in (REPO / "corpus" / "splits.csv").read_text().splitlines()[1:])
    first_train = min(a for a, s in splits.items() if s == "train")
    tasks = [t for t in json.loads(path.read_text(encoding="utf-8")) if t["data"]["article_id"] == first_train]
    path.write_text(json.dumps(tasks), encoding="utf-8")
    code, out, err = khc("model", "train", root=root, capsys=capsys)
    assert code == 0, err
    assert "only 1 labelled article" in out and "nan" not in out.lower()
    (model,) = (root / "models").iterdir()
    card = json.loads((model / "card.json").read_text(encoding="utf-8"), parse_constant=pytest.fail)
    assert card["evaluation"]["articles"] == 1 and "detection" not in card["evaluation"]


def test_no_labelled_article_is_an_error_that_says_what_to_do(tmp_path, capsys):
    """Only a test-split article is labelled (held out), so there is nothing to learn from."""
    root = pilot_project(tmp_path / "p")
    path = root / "annotations" / "predictions" / f"{load_project(root).labelstudio.model_version}.json"
    splits = dict(line.split(",") for line in (REPO / "corpus" / "splits.csv").read_text().splitlines()[1:])
    tasks = [t for t in json.loads(path.read_text(encoding="utf-8")) if splits[t["data"]["article_id"]] == "test"]
    assert tasks
    path.write_text(json.dumps(tasks), encoding="utf-8")
    code, _, err = khc("model", "train", root=root, capsys=capsys)
    assert code == 1 and "no labelled train or validation articles" in err and "what to do" in err
    assert not (root / "models").exists()


def test_a_class_without_examples_is_named_in_the_notes(trained):
    evaluation = trained.card["evaluation"]
    for family in ("claim_type", "evidence"):
        missing = [n for n, v in evaluation[family]["model"]["per_class"].items() if v["support"] == 0]
        for name in missing:
            assert any(note.startswith(f"{family}:") and name in note for note in evaluation["notes"])
