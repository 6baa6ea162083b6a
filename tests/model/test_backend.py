"""The ML backend protocol, served with the standard library (no Label Studio here; the real
server's use of it is in test_labelstudio_model.py)."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from builders.model.backend import Backend
from builders.model.store import load
from builders.project import load_project
from tests.model.test_preannotate_store import NEW_ARTICLE


@pytest.fixture
def backend(trained):
    fitted, card = load(trained.model, load_project(trained.root).guideline_version())
    server = Backend(fitted, card["model_version"], 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", card
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _call(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_health_setup_and_unknown_paths(backend):
    url, card = backend
    assert _call(f"{url}/health") == (
        200,
        {"status": "UP", "model_class": "khc-baseline", "model_version": card["model_version"]},
    )
    assert _call(f"{url}/setup", {"project": "1.0", "schema": "<View/>"}) == (
        200,
        {"model_version": card["model_version"]},
    )
    assert _call(f"{url}/webhook", {"action": "ANNOTATION_CREATED"})[0] == 200
    assert _call(f"{url}/nothing")[0] == 404


def test_predict_answers_every_task_in_order(backend):
    url, card = backend
    tasks = [
        {"id": 1, "data": {"text": NEW_ARTICLE, "article_id": "khc-000900"}},
        {"id": 2, "data": {"text": ""}},
        {"id": 3, "data": {"text": NEW_ARTICLE.upper(), "article_id": "khc-000901"}},
    ]
    status, answer = _call(f"{url}/predict", {"tasks": tasks, "project": "1.0", "label_config": "", "params": {}})
    assert status == 200
    results = answer["results"]
    assert len(results) == len(tasks) and all(r["model_version"] == card["model_version"] for r in results)
    assert results[0]["result"] and results[0]["result"][0]["id"].startswith("khc-000900-")
    assert results[1] == {"result": [], "score": None, "model_version": card["model_version"]}
    for item in results[0]["result"]:
        if "start" in item["value"]:
            assert NEW_ARTICLE[item["value"]["start"] : item["value"]["end"]] == item["value"]["text"]
