"""Every input a user or annotator can get wrong: a clear error, and the previous dist/ untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders.corpus.records import read_records, sha256_text, write_records
from builders.project import load_project
from tests.conftest import ARTICLE_PROSE, NEW_SNAPSHOT, declare, khc, load_export, record, save_export, tree_digest


@pytest.fixture
def built_once(project_dir: Path) -> tuple[Path, dict[str, str]]:
    """A project with a good build in dist/; returns it and the digest of that dist/."""
    assert khc("build", root=project_dir)[0] == 0
    return project_dir, tree_digest(project_dir / "dist")


def edit_snapshot(root: Path, change) -> None:
    path = root / NEW_SNAPSHOT
    tasks = load_export(path)
    change(tasks)
    save_export(path, tasks)


def failing_build(root: Path, before: dict[str, str], capsys) -> str:
    code, _, err = khc("build", root=root, capsys=capsys)
    assert code == 1, err
    assert tree_digest(root / "dist") == before, "the previous dist/ must be untouched"
    assert not list(root.glob(".dist.*")), "no staging folder may be left behind"
    assert "what to do:" in err and "nothing was written" in err
    return err


def test_span_offsets_that_do_not_reproduce_the_text(built_once, capsys):
    root, before = built_once

    def shift(tasks):  # "Ketamine" occurs many times: shifting onto another word is ambiguous
        value = tasks[1]["annotations"][0]["result"][0]["value"]
        value["start"] += 7
        value["end"] += 7
        value["text"] = "Ketamine"

    edit_snapshot(root, shift)
    err = failing_build(root, before, capsys)
    assert NEW_SNAPSHOT in err and "task 102 (article khc-000002), annotation 5, region g1" in err
    assert "occurs more than once" in err and "redraw the span" in err


def test_span_text_not_in_the_article(built_once, capsys):
    root, before = built_once
    edit_snapshot(root, lambda t: t[0]["annotations"][0]["result"][0]["value"].update(text="ketamine cures everything"))
    err = failing_build(root, before, capsys)
    assert "does not occur in the article" in err and "task 101" in err


def test_article_changed_after_annotation(built_once, capsys):
    root, before = built_once
    project = load_project(root)
    records = read_records(project)
    records[4]["text"] = records[4]["text"].replace("anxiety", "worry", 1)
    records[4]["text_sha256"] = sha256_text(records[4]["text"])  # a careful, but wrong, edit
    write_records(project, records)
    err = failing_build(root, before, capsys)
    assert "task 105 (article khc-000005)" in err and "changed after it was annotated" in err
    assert "ingest the new text as a new article" in err


def test_hand_edited_corpus_text(built_once, capsys):
    root, before = built_once
    path = root / "corpus" / "articles.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("worldwide", "world-wide", 1), encoding="utf-8")
    err = failing_build(root, before, capsys)
    assert "corpus/articles.jsonl: line 1 (khc-000001)" in err and "text_sha256 does not match" in err


def test_label_value_outside_the_schema(built_once, capsys):
    root, before = built_once
    edit_snapshot(root, lambda t: t[4]["annotations"][0]["result"][0]["value"].update(labels=["miracle_cure"]))
    err = failing_build(root, before, capsys)
    assert "claim_type value 'miracle_cure' is not in schema v1" in err
    assert "task 105 (article khc-000005), annotation 9, region n1" in err


def test_article_level_value_outside_the_schema(built_once, capsys):
    root, before = built_once

    def bad(tasks):
        for item in tasks[0]["annotations"][1]["result"]:
            if item["from_name"] == "risk_disclosures":
                item["value"]["choices"] = ["side_effects", "cost"]

    edit_snapshot(root, bad)
    err = failing_build(root, before, capsys)
    assert "risk_disclosures value 'cost'" in err and "annotation 2" in err


def test_task_of_an_unknown_article(built_once, capsys):
    root, before = built_once
    edit_snapshot(root, lambda t: t[2]["data"].update(article_id="khc-000099"))
    err = failing_build(root, before, capsys)
    assert "task 103 (article khc-000099)" in err and "not in the corpus" in err and "khc ingest" in err


def test_export_from_a_different_project(built_once, capsys):
    root, before = built_once
    other = [{"id": 1, "data": {"text": "hello"}, "annotations": [], "predictions": [], "project": 3}]
    save_export(root / "annotations" / "exports" / "project-3-20261102T000000.json", other)
    err = failing_build(root, before, capsys)  # dropped in by hand: not a snapshot khc wrote
    assert "project-3-20261102T000000.json: not a snapshot khc wrote" in err and "khc ls import" in err
    record(root, "project-3-20261102T000000.json", project=3, exported_at="2026-11-02T00:00:00Z")
    err = failing_build(root, before, capsys)  # khc wrote it, but project 3 is not this dataset's
    assert "project-3-20261102T000000.json: a snapshot of Label Studio project 3, which this dataset" in err
    assert "add it to `projects` under [labelstudio]" in err
    declare(root, projects=[3, 7])
    err = failing_build(root, before, capsys)  # declared, but its tasks are not this corpus's
    assert "project-3-20261102T000000.json: task 1: the task has no data.article_id" in err


def test_label_field_from_another_labeling_config(built_once, capsys):
    root, before = built_once
    edit_snapshot(root, lambda t: t[0]["annotations"][0]["result"][0].update(from_name="label"))
    err = failing_build(root, before, capsys)
    assert "label field 'label' is not in schema v1" in err and "another labeling config" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "the export holds no tasks"),
        ('[{"id": 1,', "not valid JSON after task #0"),
        ('{"tasks": []}', "expected a list of tasks"),
    ],
)
def test_empty_or_malformed_export(built_once, capsys, content, message):
    root, before = built_once
    (root / "annotations" / "exports" / "project-7-20261105T000000.json").write_text(content, encoding="utf-8")
    record(root, "project-7-20261105T000000.json", exported_at="2026-11-05T00:00:00Z")
    err = failing_build(root, before, capsys)
    assert "annotations/exports/project-7-20261105T000000.json" in err and message in err


def test_user_details_in_an_export_are_refused(built_once, capsys):
    root, before = built_once
    edit_snapshot(root, lambda t: t[4]["annotations"][0].update(completed_by={"id": 3, "email": "jane@example.org"}))
    err = failing_build(root, before, capsys)
    assert "pseudonymised" in err and "khc ls pull" in err
    assert "jane@example.org" not in err


def test_duplicate_annotation_in_a_snapshot(built_once, capsys):
    root, before = built_once
    edit_snapshot(root, lambda t: t[4]["annotations"].append(json.loads(json.dumps(t[4]["annotations"][0]))))
    err = failing_build(root, before, capsys)
    assert "annotation ls-7-t105-a9 appears 2 times" in err


def test_changed_prediction_under_the_same_model_version(built_once, capsys):
    root, before = built_once
    path = root / "annotations" / "predictions" / "fixture-model-v1.json"
    tasks = load_export(path)
    tasks[0]["predictions"][0]["result"][0]["value"]["labels"] = ["efficacy"]
    save_export(path, tasks)
    err = failing_build(root, before, capsys)
    assert "labels article khc-000003 differently" in err and "new model_version" in err


def test_evidence_choice_without_its_span(built_once, capsys):
    root, before = built_once

    def orphan(tasks):
        result = tasks[4]["annotations"][0]["result"]
        tasks[4]["annotations"][0]["result"] = [
            r for r in result if not (r["id"] == "n1" and r["from_name"] == "claim_type")
        ]

    edit_snapshot(root, orphan)
    err = failing_build(root, before, capsys)
    assert "evidence choices for regions ['n1'] that have no claim span" in err


def test_cancelled_annotations_are_skipped_and_counted_not_an_error(project_dir, capsys):
    code, out, _ = khc("build", root=project_dir, capsys=capsys)
    assert code == 0 and "cancelled_annotations: 1" in out


def test_non_bmp_offsets_are_repaired_and_counted(project_dir, capsys, tmp_path):
    """Label Studio counts an emoji as two UTF-16 units; the span's text pins the real place."""
    article = tmp_path / "emoji.txt"
    article.write_text(
        "Patients love it 😀 and say ketamine works. Ketamine is safe.\n" + ARTICLE_PROSE, encoding="utf-8"
    )
    assert khc("ingest", str(article), root=project_dir, capsys=capsys)[0] == 0
    text = read_records(load_project(project_dir))[-1]["text"]
    claim = "ketamine works"
    start = text.index(claim) + 1  # one more UTF-16 unit for the emoji before it
    snapshot = project_dir / NEW_SNAPSHOT
    tasks = load_export(snapshot)
    tasks.append(
        {
            "id": 106,
            "project": 7,
            "data": {"text": text, "article_id": "khc-000006"},
            "annotations": [
                {
                    "id": 10,
                    "completed_by": "ann-012",
                    "ground_truth": False,
                    "was_cancelled": False,
                    "result": [
                        {
                            "id": "e1",
                            "from_name": "claim_type",
                            "to_name": "text",
                            "type": "labels",
                            "value": {"start": start, "end": start + len(claim), "text": claim, "labels": ["efficacy"]},
                        }
                    ],
                }
            ],
            "predictions": [],
        }
    )
    save_export(snapshot, tasks)
    code, out, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 0, err
    assert "span_repaired_utf16_offsets: 1" in out and "spans_without_evidence: 1" in out
    report = json.loads((project_dir / "dist" / "build_report.json").read_text())
    repair = next(r for r in report["repairs"] if r["reason"] == "utf16_offsets")
    assert repair["to"] == [text.index(claim), text.index(claim) + len(claim)]
    annotators = json.loads((project_dir / "dist" / "manifest.json").read_text())
    assert annotators["counts"]["articles"] == 6
