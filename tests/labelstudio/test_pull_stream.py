"""A full pull streams its export (issue 17): downloaded to a hidden file, read back and written
task by task. The snapshot is byte for byte what writing the whole export at once writes (the
code before streaming: json.loads, pseudonymise, json.dumps; gzip.compress for --compress), and
the pull's memory stays far below the export's size."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from datetime import UTC, datetime

import pytest

from builders.build.read import iter_tasks
from builders.errors import KhcError
from builders.labelstudio.connection import connect
from builders.labelstudio.fetch import list_predictions
from builders.labelstudio.importing import import_download
from builders.labelstudio.pseudonyms import Pseudonyms
from builders.labelstudio.pull import pull
from builders.labelstudio.spill import spilled_predictions
from builders.labelstudio.storing import pseudonymise
from builders.project import load_project
from tests.conftest import FIXTURES, copy_project, declare, load_export
from tests.fake_server import fake_server
from tests.labelstudio.test_pull import USERS, map_path  # noqa: F401 - map_path is a fixture

PREDICTIONS = [{"id": 17, "task": 101, "model_version": "m1", "result": [], "project": 5, "score": 0.8125}]


def raw_export(copies: int = 1) -> list[dict]:
    """The committed fixture's tasks as Label Studio exports them: user ids, fields the pull drops,
    floats, non-ASCII text, a prediction id; `copies` times over (new task and annotation ids)."""
    tasks = []
    for copy in range(copies):
        for n, fixture in enumerate(load_export(FIXTURES / "exports" / "project-7-20261101T120000.json")):
            task = {**fixture, "id": 1000 * copy + fixture["id"], "predictions": [17], "updated_by": 1}
            task["drafts"] = [{"user": USERS[2], "result": []}]
            note = 'ärzte — 治療 \u2028 "quoted"\r\n' * 300  # 6 kB, as long as an article
            task["data"] = {**task["data"], "note": note}
            task["annotations"] = [
                {**a, "id": 1000 * copy + a["id"], "completed_by": 1 + (i + n) % 3, "lead_time": 12.5 + i / 3,
                 "updated_by": 2, "created_username": USERS[1]}
                for i, a in enumerate(fixture["annotations"])
            ]  # fmt: skip
            tasks.append(task)
    return tasks


def fake_label_studio(body: bytes, first_task: dict, predictions: bytes | list = PREDICTIONS):
    def answer(method, path, headers):
        if path.startswith("/api/current-user/whoami"):
            return 200, {"id": 1, "email": USERS[1]}
        if path.startswith("/api/projects/5/export"):
            return 200, body
        if path.startswith("/api/tasks/"):
            page = [{"id": first_task["id"], "data": {}, "updated_at": "2026-11-01T00:00:00Z"}]
            return (200, {"tasks": page, "total": 1}) if "page=1" in path else (404, {"detail": "end"})
        if path.startswith("/api/projects/5"):
            return 200, {"id": 5, "title": "fake"}
        if path.startswith("/api/predictions/"):
            return 200, predictions
        if path.startswith("/api/users/"):
            return 200, [{"id": i, "email": e} for i, e in USERS.items()]
        return 404, {"detail": "not found"}

    return answer


def project(tmp_path):
    root = copy_project(tmp_path / "project", with_fixture_labels=False)
    declare(root, projects=[5])
    return root


@pytest.mark.parametrize("compress", [False, True])
def test_a_streamed_full_pull_writes_the_bytes_the_whole_export_gives(tmp_path, map_path, compress):  # noqa: F811
    tasks = raw_export()
    body = json.dumps(tasks, ensure_ascii=False).encode("utf-8")
    root = project(tmp_path)
    with fake_server(fake_label_studio(body, tasks[0])) as url:
        conn = connect(url, "t" * 20)
        result = pull(load_project(root), conn, 5, map_path=map_path, compress=compress, now=datetime.now(UTC))
    # before streaming: the whole export parsed, pseudonymised and written in one piece
    predictions = {p["task"]: [p] for p in PREDICTIONS}
    whole = pseudonymise(json.loads(body), predictions, USERS, Pseudonyms(map_path), server=conn.url)
    text = (json.dumps(whole, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    expected = gzip.compress(text, compresslevel=9, mtime=0) if compress else text
    assert result.path.name.endswith(".json.gz" if compress else ".json")
    assert result.path.read_bytes() == expected
    assert (result.tasks, result.annotations) == (len(tasks), sum(len(t["annotations"]) for t in tasks))
    assert sorted(p.name for p in result.path.parent.iterdir()) == sorted([result.path.name, "snapshots.json"])


def test_an_empty_project_streams_to_an_empty_list(tmp_path, map_path):  # noqa: F811
    root = project(tmp_path)
    with fake_server(fake_label_studio(b"[]", {"id": 1})) as url:
        result = pull(load_project(root), connect(url, "t" * 20), 5, map_path=map_path, now=datetime.now(UTC))
    assert result.path.read_bytes() == (json.dumps([], indent=1) + "\n").encode()


def traced_peak(tmp_path, pseudonym_map, copies: int, predicted: bool = False) -> tuple[int, int]:
    """Peak traced memory of a full pull of `copies` times the fixture's tasks, and the size of
    the export (with `predicted`, of the predictions' answer: a large prediction for every task)."""
    tasks = raw_export(copies)
    body = json.dumps(tasks, ensure_ascii=False).encode("utf-8")
    first = tasks[0]
    listed = [large_prediction(t["id"]) for t in tasks] if predicted else PREDICTIONS
    predictions = json.dumps(listed, ensure_ascii=False).encode("utf-8")
    del tasks, listed  # the server's answers are bytes made beforehand: what is traced is the pull's
    root = project(tmp_path / f"copies-{copies}")
    with fake_server(fake_label_studio(body, first, predictions)) as url:
        conn = connect(url, "t" * 20)
        tracemalloc.start()
        try:
            result = pull(load_project(root), conn, 5, map_path=pseudonym_map, now=datetime.now(UTC))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.tasks == copies * len(raw_export())
    if predicted:
        assert all(len(t["predictions"]) == 1 for t in iter_tasks(result.path, result.path.name))
    return peak, len(predictions if predicted else body)


def large_prediction(task: int) -> dict:
    """A prediction as long as a pre-annotated article's: 40 regions."""
    region = {"from_name": "claim", "to_name": "text", "type": "labels", "score": 0.8125,
              "value": {"start": 10, "end": 200, "text": "ketamine — 治療 " * 12, "labels": ["efficacy"]}}  # fmt: skip
    result = [{**region, "id": f"r{task}-{i}"} for i in range(40)]
    return {"id": 10_000 + task, "task": task, "model_version": "m1", "result": result, "project": 5, "score": 0.5,
            "created_at": "2026-11-01T00:00:00.000000Z", "updated_at": "2026-11-01T00:00:00.000000Z"}  # fmt: skip


def test_a_full_pull_holds_one_task_at_a_time_not_the_export(tmp_path, map_path):  # noqa: F811
    small, small_size = traced_peak(tmp_path, map_path, 10)
    large, large_size = traced_peak(tmp_path, map_path, 300)
    # Holding the export (its bytes, then parsed) would add several times the growth in its size;
    # what grows is the pull's cached state (ids and times) and the download's 1 MiB read buffers.
    grown = large_size - small_size
    assert large - small < grown / 5, f"{(large - small) / 2**20:.1f} MiB more for {grown / 2**20:.1f} MiB more"


def test_a_full_pull_holds_one_task_s_predictions_at_a_time_not_the_project_s(tmp_path, map_path):  # noqa: F811
    small, small_size = traced_peak(tmp_path, map_path, 10, predicted=True)
    large, large_size = traced_peak(tmp_path, map_path, 300, predicted=True)
    # The SDK's whole answer, parsed and built into models, would add several times its growth.
    grown = large_size - small_size
    assert large - small < grown / 5, f"{(large - small) / 2**20:.1f} MiB more for {grown / 2**20:.1f} MiB more"


def test_spilled_predictions_are_the_ones_the_sdk_lists(tmp_path):
    """Built as the SDK builds them, so the snapshot's bytes are the same: fields the server left
    out, times, floats and non-ASCII text included."""
    listed = [large_prediction(101), {"id": 18, "task": 102, "result": [{"value": {"x": 1.0, "t": "é"}}]},
              {**PREDICTIONS[0], "id": 19}]  # fmt: skip
    root = project(tmp_path)
    with fake_server(fake_label_studio(b"[]", {"id": 1}, listed)) as url:
        conn = connect(url, "t" * 20)
        expected = list_predictions(conn, 5)
        with spilled_predictions(conn, load_project(root), 5) as spill:
            got = {task: spill.get(task) for task in (101, 102, 103)}
            assert any(p.name.endswith(".partial") for p in (root / "annotations" / "exports").iterdir())
    assert got == {**expected, 103: []} and list(expected) == [101, 102]
    assert not (root / "annotations" / "exports").exists()  # the spill file and the folder made for it are gone


@pytest.mark.parametrize("answer", [b'{"detail": "x"}', b'[{"id": 1}]', b'[{"id": 1, "task": 2}'])
def test_a_predictions_answer_that_is_not_label_studio_s_leaves_nothing(tmp_path, map_path, answer):  # noqa: F811
    root = project(tmp_path)
    tasks = raw_export()
    body = json.dumps(tasks).encode()
    with fake_server(fake_label_studio(body, tasks[0], answer)) as url, pytest.raises(KhcError, match="not what Label"):
        pull(load_project(root), connect(url, "t" * 20), 5, map_path=map_path)
    assert not (root / "annotations" / "exports").exists() and not map_path.exists()


def test_an_imported_download_gets_the_spilled_predictions(tmp_path, map_path):  # noqa: F811
    """`khc ls import` writes through the same code: the download's prediction ids become the
    predictions the server lists, in the bytes the SDK's whole list gave."""
    tasks = [{**t, "project": 5} for t in raw_export()]
    download = tmp_path / "project-5-at-2026-11-02-10-30-abcdef.json"
    download.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    listed = [large_prediction(t["id"]) for t in tasks]
    root = project(tmp_path)
    with fake_server(fake_label_studio(b"[]", tasks[0], listed)) as url:
        conn = connect(url, "t" * 20)
        result = import_download(load_project(root), conn, download, 5, full=True, map_path=map_path,
                                 now=datetime.now(UTC))  # fmt: skip
        predictions = list_predictions(conn, 5)  # before the spill: the SDK's list (its times rewritten)
    whole = pseudonymise(tasks, predictions, USERS, Pseudonyms(map_path), server=conn.url)
    assert result.path.read_bytes() == (json.dumps(whole, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()
    assert sorted(p.name for p in result.path.parent.iterdir()) == sorted([result.path.name, "snapshots.json"])


def test_a_download_that_is_not_an_export_leaves_nothing(tmp_path, map_path):  # noqa: F811
    root = project(tmp_path)
    body = json.dumps(raw_export()).encode()[:-200]  # cut short
    with fake_server(fake_label_studio(body, {"id": 101})) as url, pytest.raises(Exception, match="is not JSON"):
        pull(load_project(root), connect(url, "t" * 20), 5, map_path=map_path)
    assert not (root / "annotations" / "exports").exists() and not map_path.exists()
