"""The read stage on the snapshots and files Label Studio and people really produce (issue 13,
observations 1-8): ordered and merged by content, every file read or refused by name, empty
answers not judgements, bounded reading, types checked, and --skip-invalid."""

from __future__ import annotations

import copy
import gzip
import json
import os
import resource
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from builders.build.read import read_labels
from builders.corpus.records import load_corpus
from builders.project import load_project
from builders.schema import CLAIM_TYPE, HUMAN
from tests.conftest import NEW_SNAPSHOT, declare, khc, load_export, record, save_export

EXPORTS = Path("annotations/exports")
NEWEST = "2026-11-01T12:00:00.000000Z"


def labels_of(root: Path, **options):
    project = load_project(root)
    return read_labels(project, load_corpus(project), **options)


def claim_types(labels, uid: str) -> list[str]:
    spans = labels.spans[labels.spans["annotation_uid"] == uid]
    return sorted(CLAIM_TYPE.names[c] for c in spans["claim_type"])


def add_snapshot(root: Path, name: str, tasks: list, *, exported_at: str, coverage: str = "full", project: int = 7):
    save_export(root / EXPORTS / name, tasks)
    record(root, name, project=project, exported_at=exported_at, coverage=coverage)


def exported_types(annotation: dict) -> list[str]:
    return sorted(r["value"]["labels"][0] for r in annotation["result"] if r["from_name"] == "claim_type")


def newest(root: Path) -> list:
    return load_export(root / NEW_SNAPSHOT)


def test_an_older_download_never_supersedes_the_newest_pull(project_dir, capsys):
    """Obs. 1: Label Studio's own download name sorted after khc's names and won by name."""
    tasks = newest(project_dir)
    old = copy.deepcopy(tasks)
    corrected = tasks[4]["annotations"][0]  # ann on khc-000005, corrected later
    corrected["updated_at"] = "2026-11-20T00:00:00.000000Z"
    corrected["result"][0]["value"]["labels"] = ["safety"]
    add_snapshot(project_dir, "project-7-20261121T000000Z.json", tasks, exported_at="2026-11-21T00:00:00Z")
    download = "project-7-at-2026-09-01-12-00-8d3e1f2a.json"
    save_export(project_dir / EXPORTS / download, old)
    code, _, err = khc("build", root=project_dir, capsys=capsys)  # dropped in by hand: refused by name
    assert code == 1 and f"{download}: a file downloaded from Label Studio's UI" in err and "khc ls import" in err
    record(project_dir, download, exported_at="2026-09-01T12:00:00Z", coverage="full")  # as khc ls import would
    labels = labels_of(project_dir)
    assert claim_types(labels, "ls-7-t105-a9") == exported_types(corrected)  # the correction, whatever the names
    assert exported_types(corrected) != exported_types(old[4]["annotations"][0])


def test_a_partial_snapshot_adds_and_updates_but_never_deletes(project_dir):
    """Obs. 2: an export of selected tasks made every other task's labels vanish."""
    before = labels_of(project_dir)
    subset = newest(project_dir)[4:]
    subset[0]["annotations"][0]["updated_at"] = "2026-11-10T00:00:00.000000Z"
    add_snapshot(project_dir, "project-7-20261110T000000Z.json", subset, exported_at="2026-11-10T00:00:00Z",
                 coverage="partial")  # fmt: skip
    after = labels_of(project_dir)
    assert len(after.units) == len(before.units) and len(after.spans) == len(before.spans)
    assert after.counts["annotation_versions_superseded"] >= 1


def test_a_full_snapshot_that_lacks_an_annotation_deletes_it(project_dir):
    tasks = newest(project_dir)
    tasks[4]["annotations"] = []  # ann 9 deleted in Label Studio
    add_snapshot(project_dir, "project-7-20261121T000000Z.json", tasks, exported_at="2026-11-21T00:00:00Z")
    labels = labels_of(project_dir)
    assert "ls-7-t105-a9" not in set(labels.units["annotation_uid"])
    assert labels.counts["annotations_deleted"] == 1


def test_one_person_in_two_projects_is_one_annotator(project_dir):
    """Obs. 3: the same annotator's copies in two projects were counted twice and tied."""
    tasks = newest(project_dir)
    copy_task = copy.deepcopy(tasks[4])
    copy_task["project"], copy_task["id"] = 8, 905
    copy_task["annotations"][0].update(id=90, updated_at="2026-11-02T00:00:00.000000Z")
    add_snapshot(project_dir, "project-8-20261102T000000Z.json", [copy_task], exported_at="2026-11-02T00:00:00Z",
                 project=8)  # fmt: skip
    declare(project_dir, projects=[7, 8])
    labels = labels_of(project_dir)
    units = labels.units[(labels.units["article_id"] == "khc-000005") & (labels.units["origin"] == HUMAN)]
    assert list(units["annotation_uid"]) == ["ls-8-t905-a90"]  # the newer copy, once
    assert labels.counts["same_annotator_superseded"] == 1


@pytest.mark.parametrize("name", ["project-7-20261121T000000Z.JSON", "project-7-20261121T000000Z.json.gz"])
def test_upper_case_and_gzipped_snapshots_are_read(project_dir, name):
    """Obs. 4: .JSON and .json.gz snapshots were ignored without a word."""
    tasks = newest(project_dir)
    tasks[4]["annotations"][0]["updated_at"] = "2026-11-20T00:00:00.000000Z"
    tasks[4]["annotations"][0]["result"][0]["value"]["labels"] = ["safety"]
    data = json.dumps(tasks).encode()
    path = project_dir / EXPORTS / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    record(project_dir, name, exported_at="2026-11-21T00:00:00Z")
    assert claim_types(labels_of(project_dir), "ls-7-t105-a9") == exported_types(tasks[4]["annotations"][0])


def test_empty_submissions_are_no_answer(project_dir):
    """Obs. 5: result [] replaced the model's labels ('nothing disclosed'), and an empty ground
    truth erased claims three annotators agreed on."""
    tasks = newest(project_dir)
    tasks[0]["annotations"].append(
        {"id": 50, "completed_by": "ann-d", "result": [], "ground_truth": True, "was_cancelled": False,
         "created_at": NEWEST, "updated_at": NEWEST}
    )  # fmt: skip
    tasks[2]["annotations"] = [
        {"id": 51, "completed_by": "ann-a", "result": [], "was_cancelled": False,
         "created_at": NEWEST, "updated_at": NEWEST}
    ]  # fmt: skip
    save_export(project_dir / NEW_SNAPSHOT, tasks)
    labels = labels_of(project_dir)
    assert labels.counts["empty_annotations"] == 2
    assert not set(labels.units["annotation_uid"]) & {"ls-7-t101-a50", "ls-7-t103-a51"}
    assert {e["annotation_uid"] for e in labels.report["empty_annotations"]} == {"ls-7-t101-a50", "ls-7-t103-a51"}


def test_a_deeply_nested_value_is_refused_with_memory_bounded(project_dir, tmp_path):
    """Obs. 6: a 200 KB nested value took the machine to 23.8 GB; here 1 MB, under a 2 GiB limit."""
    tasks = newest(project_dir)
    save_export(project_dir / NEW_SNAPSHOT, [*tasks[:1], {"id": 999, "data": "@@@"}, *tasks[1:]])
    path = project_dir / NEW_SNAPSHOT
    depth = 500_000
    path.write_text(path.read_text().replace('"@@@"', "[" * depth + "]" * depth), encoding="utf-8")
    assert path.stat().st_size > 1_000_000

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    exe = Path(sys.executable).with_name("khc")
    result = subprocess.run(
        [str(exe), "--root", str(project_dir), "build"], capture_output=True, text=True, preexec_fn=limit, timeout=300
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "nested more than 64 levels deep" in result.stderr and "task #1" in result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr


BAD_TASKS = [
    ("task id not a number", lambda t: t[0].update(id="abc"), "the task id 'abc' is not an integer id"),
    (
        "value a list",
        lambda t: t[0]["annotations"][0]["result"][0].update(value=["x"]),
        "claim_type result has no labels",
    ),
    ("annotations an object", lambda t: t[0].update(annotations={"id": 1}), "'annotations' is dict, not a list"),
    ("annotation an integer", lambda t: t[0]["annotations"].append(7), "an annotation is int, not an object"),
    (
        "annotation without id",
        lambda t: t[0]["annotations"][0].pop("id"),
        "the annotation id None is not an integer id",
    ),
    ("ground_truth a string", lambda t: t[0]["annotations"][0].update(ground_truth="false"), "ground_truth is 'false'"),
    (
        "updated_at not a time",
        lambda t: t[0]["annotations"][0].update(updated_at="yesterday"),
        "updated_at 'yesterday'",
    ),
    ("a real name", lambda t: t[0]["annotations"][0].update(completed_by="Firstname.Lastname"), "not a pseudonym"),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_TASKS, ids=[b[0] for b in BAD_TASKS])
def test_wrong_types_are_named_not_tracebacks(project_dir, capsys, case, change, message):
    """Obs. 7 (types) and issue 12 §5 (a real name as completed_by is never published)."""
    tasks = newest(project_dir)
    change(tasks)
    save_export(project_dir / NEW_SNAPSHOT, tasks)
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and message in err and "Traceback" not in err, err
    assert "what to do:" in err and NEW_SNAPSHOT in err


def test_timestamps_are_parsed_whatever_their_json_type(project_dir):
    tasks = newest(project_dir)
    tasks[4]["annotations"][0]["updated_at"] = 1_790_000_000  # seconds since the epoch
    save_export(project_dir / NEW_SNAPSHOT, tasks)
    units = labels_of(project_dir).units.set_index("annotation_uid")
    expected = datetime.fromtimestamp(1_790_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert units.loc["ls-7-t105-a9", "updated_at"] == expected


def test_a_byte_order_mark_is_accepted(project_dir):
    path = project_dir / NEW_SNAPSHOT
    before = labels_of(project_dir)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(labels_of(project_dir).units) == len(before.units)


def entry_cases(root: Path) -> dict[str, str]:
    """Folder entries no build may read or hang on, each with what its message says."""
    exports = root / EXPORTS
    (exports / "older").mkdir()
    (exports / "x.json").mkdir()
    os.mkfifo(exports / "pipe.json")
    (exports / "gone.json").symlink_to(root / "nowhere.json")
    outside = root.parent / "outside.json"
    outside.write_text("[]")
    (exports / "linked.json").symlink_to(outside)
    (exports / "labels.csv").write_text("id,label\n")
    (exports / "notes.txt").write_text("hi")
    return {
        "older": "a folder",
        "x.json": "a folder",
        "pipe.json": "not a regular file",
        "gone.json": "points nowhere",
        "linked.json": "a file outside the project",
        "labels.csv": "a CSV/TSV export",
        "notes.txt": "not a Label Studio JSON snapshot",
    }


def test_every_other_entry_is_refused_by_name_and_nothing_hangs(project_dir, capsys):
    """Obs. 4 and 7: subfolders, CSV, FIFOs, dangling links, links out of the project, folders
    named x.json were ignored, gave tracebacks or hung the build."""
    expected = entry_cases(project_dir)
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and "Traceback" not in err
    for name, message in expected.items():
        line = next((row for row in err.splitlines() if f"{EXPORTS}/{name}:" in row), "")
        assert message in line, (name, err)
    assert str(project_dir.parent) not in err.replace(str(project_dir), "")  # no path outside the project


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        ('[{"id": 1}]'.encode("utf-16"), "UTF-16"),
        (b'[{"id": 1, "text": "an article", "claim_type": "efficacy"}]', "JSON-MIN"),
    ],
    ids=["empty", "utf-16", "json-min"],
)
def test_foreign_files_get_their_own_message(project_dir, capsys, content, message):
    path = project_dir / EXPORTS / "project-7-20261121T000000Z.json"
    path.write_bytes(content)
    record(project_dir, path.name, exported_at="2026-11-21T00:00:00Z")
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and message in err and "Traceback" not in err, err


def test_skip_invalid_leaves_out_and_lists_what_cannot_be_read(project_dir, capsys):
    """Obs. 8: one unusual answer blocked the whole dataset."""
    tasks = newest(project_dir)
    tasks[4]["annotations"][0]["result"][0]["value"]["labels"] = ["hype"]
    save_export(project_dir / NEW_SNAPSHOT, tasks)
    assert khc("build", root=project_dir, capsys=capsys)[0] == 1  # strict by default
    code, _out, err = khc("build", "--skip-invalid", root=project_dir, capsys=capsys)
    assert code == 0, err
    report = json.loads((project_dir / "dist" / "build_report.json").read_text())
    (skipped,) = report["skipped_invalid"]
    assert skipped["file"] == NEW_SNAPSHOT and "task 105" in skipped["record"] and "'hype'" in skipped["reason"]
    assert report["counts"]["skipped_invalid"] == 1
    assert "skipped_invalid | 1" in (project_dir / "dist" / "README.md").read_text()  # counted in the card
