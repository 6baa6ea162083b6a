"""Incremental pulls against a real Label Studio (select with -m labelstudio; issue 17).

A project is pushed and annotated through the API and pulled in full; then one annotation is
updated, one deleted and one cancelled annotation created, each followed by an incremental
pull. The build of the full snapshot and its deltas, and of the one snapshot they compact into,
must make the same dataset, byte for byte, as a build of one full pull of the same final state;
only manifest.json and build_report.json differ, in the snapshots they name and the merge's
counters (tests/build/test_snapshots_delta.py, assert_same_dataset).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from label_studio_sdk import LabelStudio

from builders.build.snapshots import read_index
from builders.labelstudio import pull as pull_module
from builders.labelstudio.delta import CLOCK_STEP, OVERLAP
from builders.project import load_project
from tests.build.test_snapshots_delta import assert_same_dataset
from tests.conftest import REPO, copy_project, declare, khc
from tests.labelstudio.server import sign_up
from tests.labelstudio.test_server import project_root, push, span  # noqa: F401 - project_root is a fixture

pytestmark = pytest.mark.labelstudio


def pull(root: Path, capsys, project_id: int, *options: str) -> str:
    code, out, err = khc("ls", "pull", "--project-id", str(project_id), *options, root=root, capsys=capsys)
    assert code == 0, err
    return out


def written(out: str) -> str | None:
    match = re.search(r"wrote annotations/exports/(\S+) \((\w+)\)", out)
    return match.group(1) if match else None


def test_incremental_pulls_build_what_one_full_pull_builds(server, project_root, tmp_path, capsys):  # noqa: F811
    root = project_root
    project_id = push(root, capsys, "--title", "incremental")
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    b = LabelStudio(base_url=server.url, api_key=sign_up(server.url, "incremental.b@khc.test"))
    tasks = {t.data["article_id"]: t for t in admin.tasks.list(project=project_id, fields="all")}
    t1, t2, t3 = (tasks[a] for a in ("khc-000001", "khc-000002", "khc-000003"))
    first = "Attention deficit hyperactivity disorder (ADHD) is a neurological disorder"
    s1 = "Ketamine blocks NMDA receptors, which are important for memory and focus regulation"
    kept = admin.annotations.create(id=t1.id, result=span(t1.data["text"], first, "background", "none", "a1"))
    updated = b.annotations.create(id=t1.id, result=span(t1.data["text"], first, "mechanism", "none", "b1"))
    deleted = b.annotations.create(id=t2.id, result=span(t2.data["text"], s1, "safety", "none", "b2"))
    admin.annotations.create(id=t2.id, result=span(t2.data["text"], s1, "mechanism", "none", "a2"))

    out = pull(root, capsys, project_id)
    base = written(out)
    assert base and "-delta-" not in base and "(full)" in out

    # nothing changed: nothing written
    out = pull(root, capsys, project_id)
    assert written(out) is None and "nothing changed" in out

    # 1: an annotation corrected, and a cancelled one (a skip) created
    b.annotations.update(id=updated.id, result=span(t1.data["text"], first, "efficacy", "anecdote", "b1"))
    cancelled = b.annotations.create(id=t3.id, result=[], was_cancelled=True)
    out = pull(root, capsys, project_id)
    delta1 = written(out)
    assert delta1 and "-delta-" in delta1 and "(delta)" in out
    assert "0 new" not in out and "1 updated, 1 cancelled, 0 removed" in out
    held = json.loads((root / "annotations" / "exports" / delta1).read_text())
    assert sorted(t["id"] for t in held) == sorted([t1.id, t3.id])  # only the changed tasks

    # 2: an annotation deleted; this delta is stored compressed
    b.annotations.delete(id=deleted.id)
    out = pull(root, capsys, project_id, "--compress")
    delta2 = written(out)
    assert delta2 and delta2.endswith(".json.gz") and "0 new, 0 updated, 0 cancelled, 1 removed" in out
    index = read_index(load_project(root))
    assert index[delta2]["deleted"] == {"annotations": [deleted.id], "predictions": []}
    assert index[delta2]["since"] == index[delta1]["high_water"] and index[base]["coverage"] == "full"

    code, out, err = khc("build", root=root, capsys=capsys)
    assert code == 0, err
    assert "annotations_deleted: 1" in out and "cancelled_annotations: 1" in out

    # the same final state, pulled once in full into a second copy of the project
    again = copy_project(tmp_path / "again", with_fixture_labels=False)
    shutil.copytree(REPO / "annotations" / "predictions", again / "annotations" / "predictions")
    declare(again, projects=[project_id])
    out = pull(again, capsys, project_id)
    assert "(full)" in out
    code, _, err = khc("build", root=again, capsys=capsys)
    assert code == 0, err
    assert_same_dataset(root / "dist", again / "dist")

    rows = {kept.id, updated.id, deleted.id, cancelled.id}
    final = json.loads(next((again / "annotations" / "exports").glob("project-*.json")).read_text())
    assert {a["id"] for t in final for a in t["annotations"]} & rows == rows - {deleted.id}

    # the full snapshot and its deltas folded into one: the same dataset again
    code, out, err = khc("snapshots", "compact", "--project-id", str(project_id), root=root, capsys=capsys)
    assert code == 0 and "folded and removed 3 snapshots" in out, err
    code, _, err = khc("build", root=root, capsys=capsys)
    assert code == 0, err
    assert_same_dataset(root / "dist", again / "dist")

    # --full on request, even with earlier snapshots
    out = pull(root, capsys, project_id, "--full")
    assert "-delta-" not in written(out) and "(full)" in out


def test_changes_during_and_just_after_a_full_pull_are_in_the_next_pull(server, project_root, tmp_path, capsys,  # noqa: F811
                                                                        monkeypatch):  # fmt: skip
    """An annotation saved after the full pull read its mark (while it exports) and one saved just
    after it: the next, incremental pull misses neither, so the dataset is that of one full pull."""
    root = project_root
    project_id = push(root, capsys, "--title", "during the export")
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    tasks = {t.data["article_id"]: t for t in admin.tasks.list(project=project_id, fields="all")}
    t1, t2 = tasks["khc-000001"], tasks["khc-000002"]
    first = "Attention deficit hyperactivity disorder (ADHD) is a neurological disorder"
    s1 = "Ketamine blocks NMDA receptors, which are important for memory and focus regulation"
    a1 = admin.annotations.create(id=t1.id, result=span(t1.data["text"], first, "background", "none", "a1"))
    time.sleep((OVERLAP + CLOCK_STEP).total_seconds() + 2)  # idle: the next pull lists from the mark itself

    export = pull_module.downloaded

    def while_exporting(conn, project, pid):  # the mark is read; the export has not begun
        admin.annotations.update(id=a1.id, result=span(t1.data["text"], first, "efficacy", "anecdote", "a1"))
        return export(conn, project, pid)

    monkeypatch.setattr(pull_module, "downloaded", while_exporting)
    assert "(full)" in pull(root, capsys, project_id)
    monkeypatch.setattr(pull_module, "downloaded", export)
    admin.annotations.create(id=t2.id, result=span(t2.data["text"], s1, "safety", "none", "a2"))  # just after
    out = pull(root, capsys, project_id)
    assert "(delta)" in out and "1 new" in out
    code, _, err = khc("build", root=root, capsys=capsys)
    assert code == 0, err

    again = copy_project(tmp_path / "again", with_fixture_labels=False)
    shutil.copytree(REPO / "annotations" / "predictions", again / "annotations" / "predictions")
    declare(again, projects=[project_id])
    assert "(full)" in pull(again, capsys, project_id)
    code, _, err = khc("build", root=again, capsys=capsys)
    assert code == 0, err
    assert_same_dataset(root / "dist", again / "dist")
