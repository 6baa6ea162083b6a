"""Against a real Label Studio server (select with -m labelstudio): an article added with
`khc ingest` gets the baseline's pre-annotations and reaches Label Studio with them, by the
batch path (preannotate + push) and by the ML backend (`khc model backend`)."""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest
from label_studio_sdk import LabelStudio

from builders.model.backend import Backend, predictions_for
from builders.model.store import load
from builders.project import load_project
from tests.conftest import khc
from tests.labelstudio.server import start_server
from tests.model.test_preannotate_store import NEW_ARTICLE

pytestmark = pytest.mark.labelstudio
LOCAL_BACKEND = {"ML_BLOCK_LOCAL_IP": "false", "SSRF_PROTECTION_ENABLED": "false"}


@pytest.fixture(scope="module", autouse=True)
def _local_ml_backend_allowed():
    """This module's server may call a backend on 127.0.0.1 (label-studio-facts.md); autouse
    fixtures are set up first, so the server starts with these variables."""
    saved = {k: os.environ.get(k) for k in LOCAL_BACKEND}
    os.environ.update(LOCAL_BACKEND)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def server(_local_ml_backend_allowed, tmp_path_factory):
    """A server of its own: it must be allowed to call a backend on 127.0.0.1, which the shared one
    (tests/labelstudio/conftest.py) is not."""
    with start_server(tmp_path_factory.mktemp("label-studio-model")) as running:
        yield running


def _with_new_article(trained, tmp_path, monkeypatch, ls, capsys):
    root = tmp_path / "project"
    shutil.copytree(trained.root, root)
    # every task keeps its prediction here: the policy's share pushed without any is tested elsewhere
    settings = root / "khc.toml"
    settings.write_text(settings.read_text().replace("without_share = 0.2", "without_share = 0.0"))
    monkeypatch.setenv("LABEL_STUDIO_URL", ls.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls.token)
    (tmp_path / "new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert khc("ingest", str(tmp_path / "new.txt"), root=root, capsys=capsys)[0] == 0
    new_id = json.loads((root / "corpus" / "articles.jsonl").read_text(encoding="utf-8").splitlines()[-1])["article_id"]
    return root, root / "models" / trained.model.name, new_id


def test_ingested_article_reaches_label_studio_with_model_predictions(server, trained, tmp_path, monkeypatch, capsys):
    root, model, new_id = _with_new_article(trained, tmp_path, monkeypatch, server, capsys)
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
    assert others == {load_project(root).labelstudio.model_version}
    assert not admin.annotations.list(id=tasks[new_id].id)  # predictions, never annotations


def test_label_studio_asks_the_backend_for_predictions(server, trained, tmp_path, monkeypatch, capsys):
    root, model, new_id = _with_new_article(trained, tmp_path, monkeypatch, server, capsys)
    code, _, err = khc("ls", "push", "--title", "baseline backend", root=root, capsys=capsys)
    assert code == 0, err
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    (project,) = [p for p in admin.projects.list() if p.title == "baseline backend"]
    task = next(t for t in admin.tasks.list(project=project.id, fields="all") if t.data["article_id"] == new_id)
    assert not [p for p in admin.predictions.list(project=project.id) if p.task == task.id]

    fitted, card = load(model, load_project(root).guideline_version())
    backend = Backend(fitted, card["model_version"], 0)
    thread = threading.Thread(target=backend.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{backend.server_port}"
        admin.ml.create(url=url, project=project.id, title="khc baseline", is_interactive=False)
        admin.actions.create(
            id="retrieve_tasks_predictions", project=project.id, selected_items={"all": False, "included": [task.id]}
        )
    finally:
        backend.shutdown()
        backend.server_close()
        thread.join(timeout=10)
    (prediction,) = [p for p in admin.predictions.list(project=project.id) if p.task == task.id]
    (expected,) = predictions_for(fitted, card["model_version"], [{"id": task.id, "data": task.data}])
    assert prediction.model_version == card["model_version"]
    assert prediction.result == expected["result"] and expected["result"]
    assert prediction.score == pytest.approx(expected["score"])
