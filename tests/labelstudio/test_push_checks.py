"""`khc ls push` reads and checks everything (corpus, prediction files, the project's config and
tasks) before it writes to the server, and an error after a write names what was written;
against an in-memory Label Studio client that records every write."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from builders.corpus.records import load_corpus
from builders.errors import KhcError, Problem, explain
from builders.labelstudio.connection import Connection
from builders.labelstudio.labelconfig import labeling_config
from builders.labelstudio.push import pre_annotations, push
from builders.project import load_project
from tests.conftest import REPO, copy_project


class FakeLabelStudio:
    """The parts of label-studio-sdk's client push uses; `writes` lists every call that changes the server."""

    def __init__(self, tasks=()):
        self.remote = SimpleNamespace(id=3, title="khc", label_config=labeling_config())
        self.stored = [SimpleNamespace(id=100 + i, data=d) for i, d in enumerate(tasks)]
        self.writes: list[str] = []
        self.projects = SimpleNamespace(
            get=lambda project_id: self.remote,
            list=lambda: [self.remote],
            create=lambda **kw: self._write("create", SimpleNamespace(id=4, **kw)),
            update=lambda project_id, **kw: self._write(f"update {sorted(kw)}"),
            import_tasks=lambda project_id, request: self._write(f"import {len(request)}"),
        )
        self.tasks = SimpleNamespace(list=lambda project, fields: list(self.stored))
        self.predictions = SimpleNamespace(
            list=lambda project: [], create=lambda task, **kw: self._write(f"prediction {task}")
        )

    def _write(self, what: str, answer=None):
        self.writes.append(what)
        return answer


@pytest.fixture
def project(tmp_path):
    return load_project(copy_project(tmp_path / "project"))


def connection(client) -> Connection:
    return Connection(url="http://127.0.0.1:1", client=client, _key="key")


def test_a_changed_text_is_refused_before_anything_is_written(project):
    corpus = load_corpus(project)
    predicted = sorted(pre_annotations(project))
    first = corpus[corpus.article_id == predicted[0]].iloc[0]
    second = corpus.iloc[-1]
    tasks = [{"article_id": first.article_id, "text": first.text}, {"article_id": second.article_id, "text": "edited"}]
    client = FakeLabelStudio(tasks)
    with pytest.raises(KhcError, match="another text"):
        push(project, connection(client), project_id=3)
    assert client.writes == []


def test_a_bad_prediction_file_is_refused_before_anything_is_written(project):
    next(project.root.glob("annotations/predictions/*.json")).write_text("{not json", encoding="utf-8")
    client = FakeLabelStudio()
    with pytest.raises(KhcError):
        push(project, connection(client), project_id=3)
    assert client.writes == []


def test_a_failed_import_names_what_was_written(project):
    client = FakeLabelStudio()

    def refuse(project_id, request):
        raise KhcError(Problem("Label Studio at http://127.0.0.1:1 answered HTTP 500 while it imported tasks"))

    client.projects.import_tasks = refuse
    with pytest.raises(KhcError) as caught:
        push(project, connection(client), project_id=3)
    text = explain(caught.value)
    assert client.writes and client.writes[0].startswith("update")
    assert "nothing was written" not in text and "project 3: the instructions" in text
    assert "khc ls push" in text


def test_preannotate_does_not_import_the_label_studio_sdk():
    code = "import sys, builders.model.preannotate; print('label_studio_sdk' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_failed_prediction_names_the_predictions_added_before_it(project):
    corpus = load_corpus(project)
    policy = project.annotation.predictions
    source = next(project.root.glob("annotations/predictions/*.json"))
    task = json.loads(source.read_text(encoding="utf-8"))[0]
    free = [a for a in corpus.article_id if not policy.withheld(a)][:2]  # two predictions to add
    tasks = [{**task, "data": {**task["data"], "article_id": article_id}} for article_id in free]
    (source.parent / "second.json").write_text(json.dumps(tasks), encoding="utf-8")
    client = FakeLabelStudio([{"article_id": r.article_id, "text": r.text} for r in corpus.itertuples()])
    added: list[int] = []

    def create(task, **kwargs):
        if added:
            raise KhcError(Problem("Label Studio answered HTTP 500 while it added a prediction"))
        added.append(task)

    client.predictions.create = create
    with pytest.raises(KhcError) as caught:
        push(project, connection(client), project_id=3)
    text = explain(caught.value)
    assert len(added) == 1
    assert f"project 3: {len(added)} predictions on existing tasks" in text.split("written before the error")[1]
