"""Against a real Label Studio server (select with -m labelstudio): an article added with
`khc ingest` gets the baseline's pre-annotations and reaches Label Studio with them."""

from __future__ import annotations

import json
import shutil

import pytest
from label_studio_sdk import LabelStudio

from tests.conftest import khc
from tests.labelstudio.test_server import server  # noqa: F401  (the module's server fixture: started once, stopped)
from tests.model.test_preannotate_store import NEW_ARTICLE

pytestmark = pytest.mark.labelstudio


def test_ingested_article_reaches_label_studio_with_model_predictions(server, trained, tmp_path, monkeypatch, capsys):  # noqa: F811
    root = tmp_path / "project"
    shutil.copytree(trained.root, root)
    model = root / "models" / trained.model.name
    monkeypatch.setenv("LABEL_STUDIO_URL", server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", server.token)
    (tmp_path / "new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert khc("ingest", str(tmp_path / "new.txt"), root=root, capsys=capsys)[0] == 0
    new_id = json.loads((root / "corpus" / "articles.jsonl").read_text(encoding="utf-8").splitlines()[-1])["article_id"]
    code, _, err = khc("preannotate", "--model", str(model), root=root, capsys=capsys)
    assert code == 0, err
    version = trained.card["model_version"]
    (task,) = json.loads((root / "annotations" / "predictions" / f"{version}.json").read_text(encoding="utf-8"))
    sent = task["predictions"][0]

    code, _, err = khc("ls", "push", "--title", "baseline loop", root=root, capsys=capsys)
    assert code == 0, err
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    (project,) = [p for p in admin.projects.list() if p.title == "baseline loop"]
    tasks = {t.data["article_id"]: t for t in admin.tasks.list(project=project.id, fields="all")}
    assert new_id in tasks
    predictions = [p for p in admin.predictions.list(project=project.id) if p.task == tasks[new_id].id]
    (prediction,) = predictions
    assert prediction.model_version == version
    assert prediction.score == pytest.approx(sent["score"])
    assert [r["value"] for r in prediction.result] == [r["value"] for r in sent["result"]]
    assert all(r["score"] == s["score"] for r, s in zip(prediction.result, sent["result"], strict=True))
    # the pilot articles keep their own pre-annotations; the model's went only to the new one
    others = {p.model_version for p in admin.predictions.list(project=project.id) if p.task != tasks[new_id].id}
    assert others == {"maintainers-pilot-v1"}
    assert not admin.annotations.list(id=tasks[new_id].id)  # predictions, never annotations
