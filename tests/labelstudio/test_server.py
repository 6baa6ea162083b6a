"""The Label Studio round trip against a real server (select with -m labelstudio).

The session's server (tests/labelstudio/conftest.py) runs on a free port of 127.0.0.1 with a
fresh temporary data folder and a known token, and is stopped at the end of the session.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from datasets import load_dataset
from label_studio_sdk import LabelStudio

from builders.labelstudio.labelconfig import labeling_config
from builders.labelstudio.pseudonyms import Pseudonyms
from builders.labelstudio.push import pre_annotations
from builders.labelstudio.results import span_results
from builders.project import load_project
from tests.conftest import ARTICLE_PROSE, REPO, copy_project, declare, khc
from tests.labelstudio.server import ADMIN, free_port, sign_up

pytestmark = pytest.mark.labelstudio


@pytest.fixture
def project_root(tmp_path, server, monkeypatch):
    root = copy_project(tmp_path / "project", with_fixture_labels=False)
    shutil.copytree(REPO / "annotations" / "predictions", root / "annotations" / "predictions")
    monkeypatch.setenv("LABEL_STUDIO_URL", server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", server.token)
    monkeypatch.setenv("KHC_PSEUDONYM_MAP", str(tmp_path / "outside-the-repo" / "pseudonyms.json"))
    return root


def push(root: Path, capsys, *args: str) -> int:
    code, out, err = khc("ls", "push", *args, root=root, capsys=capsys)
    assert code == 0, err
    project_id = int(re.search(r"project (\d+)", out).group(1))
    declare(root, projects=[project_id])  # the dataset's project: what `khc ls pull` accepts
    return project_id


def span(text: str, quote: str, claim_type: str, evidence: str, rid: str, *, utf16: bool = False) -> list[dict]:
    start = text.index(quote)
    if utf16:  # what a browser reports: UTF-16 code units
        start = len(text[:start].encode("utf-16-le")) // 2
    end = start + (len(quote.encode("utf-16-le")) // 2 if utf16 else len(quote))
    return span_results(rid, start, end, quote, claim_type, evidence)


def test_round_trip_push_annotate_pull_build(server, project_root, tmp_path, capsys):
    root = project_root
    emoji = tmp_path / "emoji.txt"
    emoji.write_text(
        "Patients say 🙂 ketamine changed their lives. Ask your clinic.\n" + ARTICLE_PROSE, encoding="utf-8"
    )
    assert khc("ingest", str(emoji), root=root, capsys=capsys)[0] == 0

    project_id = push(root, capsys, "--title", "round trip")
    code, out, _ = khc("ls", "push", "--title", "round trip", root=root, capsys=capsys)
    assert code == 0 and "imported 0 tasks and 0 predictions; 6 articles were there already" in out

    admin = LabelStudio(base_url=server.url, api_key=server.token)
    b = LabelStudio(base_url=server.url, api_key=sign_up(server.url, "annotator.b@khc.test"))
    c = LabelStudio(base_url=server.url, api_key=sign_up(server.url, "annotator.c@khc.test"))
    tasks = {t.data["article_id"]: t for t in admin.tasks.list(project=project_id, fields="all")}
    assert len(tasks) == 6
    # one model version per project: the one khc.toml declares; older versions are history
    declared = load_project(root).labelstudio.model_version
    assert {p.model_version for p in admin.predictions.list(project=project_id)} == {declared}

    t1, t2, t3, t6 = (tasks[a] for a in ("khc-000001", "khc-000002", "khc-000003", "khc-000006"))
    s1 = (
        "Attention deficit hyperactivity disorder (ADHD) is a neurological disorder "
        "that affects millions of people worldwide"
    )
    s2 = "Talk to your healthcare provider about whether ketamine therapy may be a viable treatment option for you"
    g1 = "Ketamine blocks NMDA receptors, which are important for memory and focus regulation"
    risk = [
        {
            "id": "r",
            "from_name": "risk_disclosures",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["medical_supervision"]},
        }
    ]
    made = {
        ("admin", "khc-000001"): admin.annotations.create(
            id=t1.id, result=[*span(t1.data["text"], s1, "background", "none", "a1"), *risk]
        ),
        ("b", "khc-000001"): b.annotations.create(
            id=t1.id,
            result=[
                *span(t1.data["text"], s1, "background", "vague_appeal", "b1"),
                *span(t1.data["text"], s2, "recommendation", "not_applicable", "b2"),
            ],
        ),
        ("c", "khc-000001"): c.annotations.create(
            id=t1.id, result=[*span(t1.data["text"], s1, "mechanism", "none", "c1")]
        ),
        ("admin", "khc-000002"): admin.annotations.create(
            id=t2.id, ground_truth=True, result=span(t2.data["text"], g1, "mechanism", "none", "g1")
        ),
        ("b", "khc-000002"): b.annotations.create(id=t2.id, result=span(t2.data["text"], g1, "safety", "none", "h1")),
        ("b", "khc-000006"): b.annotations.create(
            id=t6.id,
            result=span(t6.data["text"], "ketamine changed their lives", "efficacy", "anecdote", "e1", utf16=True),
        ),
    }
    cancelled = c.annotations.create(id=t3.id, result=[], was_cancelled=True)

    code, out, err = khc("ls", "pull", "--project-id", str(project_id), root=root, capsys=capsys)
    assert code == 0, err
    assert "7 new, 0 updated, 1 cancelled, 0 removed" in out  # six annotations and the cancelled one
    code, out, err = khc("build", root=root, capsys=capsys)
    assert code == 0, err
    assert "span_repaired_utf16_offsets: 1" in out and "cancelled_annotations: 1" in out

    names = Pseudonyms(Path(os.environ["KHC_PSEUDONYM_MAP"]))
    pseudonym = {
        "admin": names.map[names.key(ADMIN)],
        "b": names.map[names.key("annotator.b@khc.test")],
        "c": names.map[names.key("annotator.c@khc.test")],
    }
    assert len(set(pseudonym.values())) == 3

    raw = load_dataset(str(root / "dist"), "annotations")
    origin = raw["train"].features["origin"].names
    rows = {r["ls_annotation_id"]: r for split in raw for r in raw[split] if origin[r["origin"]] == "human"}
    assert set(rows) == {a.id for a in made.values()}  # every annotation, the cancelled one left out
    assert cancelled.id not in rows
    for (who, article_id), annotation in made.items():
        row = rows[annotation.id]
        assert (row["annotator"], row["article_id"], row["ls_project_id"]) == (pseudonym[who], article_id, project_id)

    claims = load_dataset(str(root / "dist"), "claims")
    names_of = claims["train"].features
    by_article: dict[str, list] = {}
    for split in claims:
        for r in claims[split]:
            by_article.setdefault(r["article_id"], []).append(r)
    (a1,) = by_article["khc-000001"]  # s2 was marked by one annotator of three: unmatched
    assert names_of["claim_type"].names[a1["claim_type"]] == "background"  # 2 of 3
    assert names_of["evidence"].names[a1["evidence"]] == "none"
    assert names_of["aggregation"].names[a1["aggregation"]] == "human_majority"
    (a2,) = by_article["khc-000002"]
    assert names_of["claim_type"].names[a2["claim_type"]] == "mechanism"  # the ground truth
    assert names_of["aggregation"].names[a2["aggregation"]] == "ground_truth"
    (a6,) = by_article["khc-000006"]
    assert a6["text"] == "ketamine changed their lives"
    assert {names_of["origin"].names[r["origin"]] for r in by_article["khc-000004"]} == {"model"}

    for folder in (root / "annotations", root / "dist"):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in {".json", ".md", ".xml", ".yaml", ".csv"}:
                text = path.read_text(encoding="utf-8")
                assert "@khc.test" not in text and "annotator.b" not in text and "annotator.c" not in text, path


def test_server_down(project_root, capsys, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{free_port()}")
    code, _, err = khc("ls", "pull", "--project-id", "1", root=project_root, capsys=capsys)
    assert code == 1 and "is not answering" in err and "127.0.0.1" in err
    assert not (project_root / "annotations" / "exports").exists()


def test_wrong_token_is_named_but_never_printed(project_root, capsys, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "not-the-right-token-42")
    code, out, err = khc("ls", "push", root=project_root, capsys=capsys)
    assert code == 1 and "rejected the API key" in err
    assert "not-the-right-token-42" not in out + err


def test_project_with_another_labeling_config_is_refused(server, project_root, capsys):
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    other = admin.projects.create(
        title="other config", label_config=labeling_config().replace('"efficacy"', '"benefit"')
    )
    code, _, err = khc("ls", "push", "--project-id", str(other.id), root=project_root, capsys=capsys)
    assert code == 1 and "differs from schema v1" in err
    assert '-<Label value="benefit"' in err and '+<Label value="efficacy"' in err
    assert not admin.tasks.list(project=other.id).items


def test_project_that_does_not_exist(project_root, capsys):
    code, _, err = khc("ls", "pull", "--project-id", "99999", root=project_root, capsys=capsys)
    assert code == 1 and "there is no project 99999" in err


def test_pull_refuses_tasks_of_unknown_articles(server, project_root, capsys):
    project_id = push(project_root, capsys, "--title", "unknown articles")
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    admin.projects.import_tasks(project_id, request=[{"data": {"text": "x", "article_id": "khc-000777"}}])
    code, _, err = khc("ls", "pull", "--project-id", str(project_id), root=project_root, capsys=capsys)
    assert code == 1 and "khc-000777" in err and "not in the corpus" in err
    assert not list((project_root / "annotations").rglob("project-*"))


def test_interrupted_pull_leaves_no_snapshot(server, project_root, capsys, monkeypatch):
    project_id = push(project_root, capsys, "--title", "interrupted")

    real_fsync = os.fsync

    def disk_full(fd):  # the disk fills while the snapshot is written (the pseudonym map was saved)
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".partial"):
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr("builders.labelstudio.writing.os.fsync", disk_full)
    code, _, err = khc("ls", "pull", "--project-id", str(project_id), root=project_root, capsys=capsys)
    assert code == 1 and "No space left on device" in err and "Traceback" not in err
    exports = project_root / "annotations" / "exports"  # the pull made it for its download: gone with it
    assert not exports.exists() or list(exports.iterdir()) == []


def test_push_sets_the_settings_instructions_and_prediction_policy(server, project_root, capsys):
    project = load_project(project_root)
    project_id = push(project_root, capsys, "--title", "settings")
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    remote = admin.projects.get(project_id)
    for key, value in project.annotation.project_fields().items():
        assert getattr(remote, key) == value, key
    assert 'class="khc-instructions"' in remote.expert_instruction and "<table>" in remote.expert_instruction

    policy, pre_annotated = project.annotation.predictions, set(pre_annotations(project))
    tasks = list(admin.tasks.list(project=project_id, fields="all"))
    shown = {t.data["article_id"] for t in tasks if t.total_predictions}
    assert shown == {a for a in pre_annotated if not policy.withheld(a)}
    assert shown and shown != pre_annotated  # both kinds of task exist in the committed corpus

    admin.projects.update(project_id, maximum_annotations=1, show_overlap_first=False)
    code, out, err = khc("ls", "push", "--project-id", str(project_id), root=project_root, capsys=capsys)
    assert code == 0, err
    assert f"note: project {project_id}: set maximum_annotations = 2 (was 1;" in out
    assert f"note: project {project_id}: set show_overlap_first = True (was False;" in out
    assert out.count("note:") == 2
    remote = admin.projects.get(project_id)
    assert (remote.maximum_annotations, remote.show_overlap_first) == (2, True)
    assert {
        t.data["article_id"] for t in admin.tasks.list(project=project_id, fields="all") if t.total_predictions
    } == shown
    code, out, _ = khc("ls", "push", "--project-id", str(project_id), root=project_root, capsys=capsys)
    assert code == 0 and "note:" not in out
