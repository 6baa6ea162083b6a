"""Delta snapshots (issue 17): a full snapshot and the deltas after it merge, by the same
content-based order as every snapshot, to what one full snapshot of the final state holds: an
updated annotation takes its newer copy, a deleted one is gone after the delta that records it,
a cancelled one is counted as cancelled. Hand-made snapshots; the real server's pulls are in
tests/labelstudio/test_incremental.py."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path

import pytest

from builders.build.index import PULL_HISTORY_COUNTS
from builders.build.read import read_labels
from builders.build.snapshots import INDEX_NAME, PENDING_INDEX, snapshot_entry
from builders.corpus.records import load_corpus
from builders.errors import KhcError
from builders.labelstudio.pull import without_pinned_texts
from builders.labelstudio.storing import corpus_hashes
from builders.labelstudio.writing import finish_interrupted
from builders.project import load_project
from builders.schema import CLAIM_TYPE
from tests.conftest import FIXTURES, REPO, khc, load_export, save_export, tree_digest

EXPORTS = Path("annotations/exports")
# The two files that describe a build rather than the dataset: what it read and how the snapshots
# were merged. Every other file (the Parquet tables, the card README.md, croissant.json,
# CITATION.cff, agreement.json, ...) is the dataset and must be the same bytes whichever way
# the project was pulled.
DESCRIBES_THE_BUILD = {"manifest.json", "build_report.json"}
SNAPSHOT_REFERENCE = re.compile(rf"^{EXPORTS}/[^/#]+(#\d+)?$")


def dataset_files(dist: Path) -> dict[str, str]:
    return {name: digest for name, digest in tree_digest(dist).items() if name not in DESCRIBES_THE_BUILD}


def build_description(dist: Path) -> dict:
    """manifest.json and build_report.json without the snapshots they name and the merge's
    counters; the manifest's hash of build_report.json goes with them."""
    manifest = json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
    report = json.loads((dist / "build_report.json").read_text(encoding="utf-8"))
    manifest["inputs"] = {k: v for k, v in manifest["inputs"].items() if not k.startswith(f"{EXPORTS}/")}
    del manifest["outputs"]["build_report.json"]
    report.pop("superseded_snapshots")
    for record in (manifest, report):
        record["counts"] = {k: v for k, v in record["counts"].items() if k not in PULL_HISTORY_COUNTS}
    return {"manifest.json": manifest, "build_report.json": _unnamed(report)}


def _unnamed(value: object) -> object:
    """`value` with every snapshot file (and task position) it names as one placeholder; a list
    of records that name one is sorted (it is in the order the snapshots were read)."""
    if isinstance(value, dict):
        return {k: _unnamed(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_unnamed(v) for v in value]
        if any(isinstance(v, dict) and "<snapshot>" in v.values() for v in items):
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
        return items
    return "<snapshot>" if isinstance(value, str) and SNAPSHOT_REFERENCE.match(value) else value


def assert_same_dataset(built: Path, reference: Path) -> None:
    """The dataset byte for byte; the build's description up to the inputs and merge counters."""
    dataset = dataset_files(built)
    assert {"README.md", "croissant.json", "CITATION.cff", "agreement.json"} <= set(dataset)
    assert sum(name.endswith(".parquet") for name in dataset) >= 4
    assert dataset == dataset_files(reference)
    assert build_description(built) == build_description(reference)


def base_tasks() -> list[dict]:
    return load_export(FIXTURES / "exports" / "project-7-20261101T120000.json")


def final_state(tasks: list[dict]) -> tuple[list[dict], list[int], dict[str, int]]:
    """The fixture's project after three changes in Label Studio: annotation 9 corrected, 5
    deleted, a cancelled annotation 60 on task 104. Returns the tasks, the changed tasks' ids
    and the ids changed."""
    final = copy.deepcopy(tasks)
    by_id = {t["id"]: t for t in final}
    corrected = by_id[105]["annotations"][0]
    corrected["updated_at"] = "2026-11-05T00:00:00.000000Z"
    corrected["result"][0]["value"]["labels"] = ["safety"]
    by_id[102]["annotations"] = [a for a in by_id[102]["annotations"] if a["id"] != 5]
    by_id[104]["annotations"].append(
        {"id": 60, "completed_by": "ann-c", "result": [], "was_cancelled": True,
         "created_at": "2026-11-06T00:00:00.000000Z", "updated_at": "2026-11-06T00:00:00.000000Z"}
    )  # fmt: skip
    for tid in (102, 104, 105):
        by_id[tid]["updated_at"] = "2026-11-06T00:00:00.000000Z"
    return final, [102, 104, 105], {"updated": 9, "deleted": 5, "cancelled": 60}


def project_with(root: Path, snapshots: list[tuple[str, list, dict]]) -> None:
    """Replace the project's snapshots by `snapshots` (name, tasks, index record)."""
    folder = root / EXPORTS
    for path in folder.iterdir():
        path.unlink()
    entries = {}
    for name, tasks, entry in snapshots:
        save_export(folder / name, tasks)
        entries[name] = entry
    (folder / INDEX_NAME).write_text(json.dumps(entries, indent=1) + "\n")


def full(at: str) -> dict:
    return snapshot_entry(7, "full", at, high_water=at)


def delta(at: str, deleted: list[int] = (), predictions: list[int] = ()) -> dict:
    return snapshot_entry(7, "delta", at, high_water=at, deleted={"annotations": list(deleted),
                          "predictions": list(predictions)})  # fmt: skip


def build(root: Path, capsys, out: str) -> Path:
    code, _, err = khc("build", "--out", str(root.parent / out), root=root, capsys=capsys)
    assert code == 0, err
    return root.parent / out


def claim_types(annotation: dict) -> list[str]:
    return sorted(r["value"]["labels"][0] for r in annotation["result"] if r["from_name"] == "claim_type")


def labels(root: Path):
    project = load_project(root)
    return read_labels(project, load_corpus(project))


def test_a_full_and_a_delta_build_what_one_full_snapshot_of_the_same_state_builds(project_dir, capsys):
    base = base_tasks()
    final, changed, ids = final_state(base)
    project_with(project_dir, [("project-7-20261106T000000Z.json", final, full("2026-11-06T00:00:00.000000Z"))])
    one_full = build(project_dir, capsys, "one-full")

    in_delta = [t for t in final if t["id"] in changed]
    project_with(
        project_dir,
        [
            ("project-7-20261101T120000Z.json", base, full("2026-11-01T12:00:00.000000Z")),
            ("project-7-delta-20261106T000000Z.json", in_delta, delta("2026-11-06T00:00:00.000000Z", [ids["deleted"]])),
        ],
    )
    merged = build(project_dir, capsys, "merged")
    assert_same_dataset(merged, one_full)
    read = labels(project_dir)
    uids = set(read.units["annotation_uid"])
    assert "ls-7-t102-a5" not in uids and read.counts["annotations_deleted"] == 1
    assert read.counts["cancelled_annotations"] == sum(a["was_cancelled"] for t in final for a in t["annotations"])
    report = json.loads((merged / "build_report.json").read_text())
    assert {"source": f"{EXPORTS}/project-7-delta-20261106T000000Z.json#1", "ls_annotation_id": ids["cancelled"]} in (
        report["cancelled"]
    )


def test_without_the_recorded_deletion_the_annotation_stays(project_dir):
    """What the delta's record of deletions is for: its tasks alone (partial) never delete."""
    base = base_tasks()
    final, changed, _ids = final_state(base)
    in_delta = [t for t in final if t["id"] in changed]
    project_with(
        project_dir,
        [
            ("project-7-20261101T120000Z.json", base, full("2026-11-01T12:00:00.000000Z")),
            ("project-7-delta-20261106T000000Z.json", in_delta, delta("2026-11-06T00:00:00.000000Z")),
        ],
    )
    assert "ls-7-t102-a5" in set(labels(project_dir).units["annotation_uid"])


def test_a_delta_exported_before_a_full_snapshot_is_ordered_by_its_export_time(project_dir):
    """The delta's name sorts last; its export time puts it before the full snapshot, whose newer
    copy of annotation 9 wins. The deletion it recorded still holds (the full one lacks 5 too)."""
    base = base_tasks()
    final, changed, ids = final_state(base)
    newer = copy.deepcopy(final)
    newer[4]["annotations"][0].update(updated_at="2026-11-08T00:00:00.000000Z")
    newer[4]["annotations"][0]["result"][0]["value"]["labels"] = ["mechanism"]
    in_delta = [t for t in final if t["id"] in changed]
    project_with(
        project_dir,
        [
            ("project-7-20261101T120000Z.json", base, full("2026-11-01T12:00:00.000000Z")),
            ("project-7-20261109T000000Z.json", newer, full("2026-11-09T00:00:00.000000Z")),
            ("project-7-delta-20991231T000000Z.json", in_delta, delta("2026-11-06T00:00:00.000000Z", [ids["deleted"]])),
        ],
    )
    read = labels(project_dir)
    spans = read.spans[read.spans["annotation_uid"] == "ls-7-t105-a9"]
    read_types = sorted(CLAIM_TYPE.names[c] for c in spans["claim_type"])
    assert read_types == claim_types(newer[4]["annotations"][0]) != claim_types(final[4]["annotations"][0])
    assert "ls-7-t102-a5" not in set(read.units["annotation_uid"])


def test_two_deltas(project_dir, capsys):
    """The second delta deletes what the first one updated and sees a task again unchanged (the
    pull's overlap): the result is the final state's, built from one full snapshot."""
    base = base_tasks()
    final, changed, ids = final_state(base)
    first = [copy.deepcopy(t) for t in final if t["id"] in changed]
    final2 = copy.deepcopy(final)
    by_id = {t["id"]: t for t in final2}
    by_id[105]["annotations"] = []  # the corrected annotation 9, deleted afterwards
    by_id[105]["updated_at"] = "2026-11-07T00:00:00.000000Z"
    # 104 again, unchanged since the first delta; as a pull writes them, without the text where the
    # task's hash pins it (105), with it where the text is not exactly the corpus text (104: \r\n)
    second = without_pinned_texts(corpus_hashes(load_project(project_dir)), [by_id[104], by_id[105]])
    assert "text" in second[0]["data"] and "text" not in second[1]["data"]
    project_with(project_dir, [("project-7-20261107T000000Z.json", final2, full("2026-11-07T00:00:00.000000Z"))])
    one_full = build(project_dir, capsys, "one-full")
    project_with(
        project_dir,
        [
            ("project-7-20261101T120000Z.json", base, full("2026-11-01T12:00:00.000000Z")),
            ("project-7-delta-20261106T000000Z.json", first, delta("2026-11-06T00:00:00.000000Z", [ids["deleted"]])),
            ("project-7-delta-20261107T000000Z.json", second, delta("2026-11-07T00:00:00.000000Z", [ids["updated"]])),
        ],
    )
    merged = build(project_dir, capsys, "merged")
    assert_same_dataset(merged, one_full)
    assert labels(project_dir).counts["annotations_deleted"] == 2


@pytest.mark.parametrize(
    "entry, what",
    [
        (snapshot_entry(7, "full", "2026-11-06T00:00:00Z", deleted={"annotations": [5]}), "only a delta does"),
        (snapshot_entry(7, "delta", "2026-11-06T00:00:00Z", deleted={"annotations": ["5"]}), "not lists of integer"),
        (snapshot_entry(7, "delta", "2026-11-06T00:00:00Z", high_water="yesterday"), "high-water mark"),
    ],
)
def test_a_record_of_deletions_is_checked(project_dir, entry, what):
    project_with(
        project_dir,
        [
            ("project-7-20261101T120000Z.json", base_tasks(), full("2026-11-01T12:00:00.000000Z")),
            ("project-7-delta-20261106T000000Z.json", base_tasks()[:1], entry),
        ],
    )
    with pytest.raises(KhcError, match=what):
        labels(project_dir)


def test_an_interrupted_install_is_finished_or_undone_by_the_next_pull(project_dir, capsys):
    folder = project_dir / EXPORTS
    index = json.loads((folder / INDEX_NAME).read_text())
    written = "project-7-delta-20261106T000000Z.json"
    save_export(folder / written, base_tasks()[:1])  # killed after the rename, before the index
    pending = {"index": index | {written: delta("2026-11-06T00:00:00.000000Z")}, "removes": []}
    (folder / PENDING_INDEX).write_text(json.dumps(pending))
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and f"{PENDING_INDEX}: left by an interrupted pull" in err and "khc ls pull" in err
    project = load_project(project_dir)
    assert finish_interrupted(project)
    assert written in json.loads((folder / INDEX_NAME).read_text()) and not (folder / PENDING_INDEX).exists()

    unwritten = {"index": index | {"project-7-delta-20261107T000000Z.json": {}}, "removes": []}
    (folder / PENDING_INDEX).write_text(json.dumps(unwritten))
    (folder / ".project-7-delta-20261107T000000Z.json.partial").write_text("[")  # killed before the rename
    assert len(finish_interrupted(project)) == 2
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    assert written in json.loads((folder / INDEX_NAME).read_text())


def test_compact_folds_a_full_snapshot_and_its_deltas_into_one_and_the_build_is_the_same(project_dir, capsys):
    base = base_tasks()
    final, changed, ids = final_state(base)
    first = [copy.deepcopy(t) for t in final if t["id"] in changed]
    second = [copy.deepcopy(t) for t in final if t["id"] == 101]  # seen again, unchanged
    clocked = {**delta("2026-11-07T00:00:00.000000Z"), "server_time": "2026-11-07T00:00:02.000000Z"}
    project_with(project_dir, [("project-7-20261107T000000Z.json", final, full("2026-11-07T00:00:00.000000Z"))])
    one_full = build(project_dir, capsys, "one-full")
    project_with(
        project_dir,
        [
            ("project-7-20261101T120000Z.json", base, full("2026-11-01T12:00:00.000000Z")),
            ("project-7-delta-20261106T000000Z.json", first, delta("2026-11-06T00:00:00.000000Z", [ids["deleted"]])),
            ("project-7-delta-20261107T000000Z.json", second, clocked),
        ],
    )
    before = build(project_dir, capsys, "before")
    assert_same_dataset(before, one_full)
    code, out, err = khc("snapshots", "compact", "--project-id", "7", root=project_dir, capsys=capsys)
    assert code == 0, err
    assert "folded and removed 3 snapshots" in out
    folder = project_dir / EXPORTS
    (compacted,) = [p.name for p in folder.iterdir() if p.name != INDEX_NAME]
    index = json.loads((folder / INDEX_NAME).read_text())
    assert list(index) == [compacted] and index[compacted]["coverage"] == "full"
    assert index[compacted]["exported_at"] == "2026-11-07T00:00:00.000000Z"
    # the newest mark and the server's clock with it: where the next pull lists from
    assert (index[compacted]["high_water"], index[compacted]["server_time"]) == (
        clocked["high_water"],
        clocked["server_time"],
    )
    after = build(project_dir, capsys, "after")
    assert_same_dataset(after, before)
    assert_same_dataset(after, one_full)
    held = load_export(folder / compacted)
    assert sorted(a["id"] for t in held for a in t["annotations"]) == sorted(
        a["id"] for t in final for a in t["annotations"]
    )
    code, out, _ = khc("snapshots", "compact", "--project-id", "7", root=project_dir, capsys=capsys)
    assert code == 0 and "nothing to fold" in out


def test_the_benchmark_generator_writes_a_base_snapshot_and_deltas_that_build_the_same_dataset(tmp_path, capsys):
    """benchmarks/generate.py --deltas: the final state as a base snapshot and deltas (updated and
    deleted annotations, texts left out), which build what the single full snapshot builds."""
    spec = importlib.util.spec_from_file_location("generate", REPO / "benchmarks" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    generate.generate(120, 2, tmp_path / "full")
    generate.generate(120, 2, tmp_path / "history", deltas=3)
    index = json.loads((tmp_path / "history" / EXPORTS / INDEX_NAME).read_text())
    assert [e["coverage"] for e in index.values()] == ["full", "delta", "delta", "delta"]
    assert all(e["deleted"]["annotations"] for e in index.values() if e["coverage"] == "delta")
    built = {}
    for name in ("full", "history"):
        code, _, err = khc("build", "--out", str(tmp_path / f"{name}-dist"), root=tmp_path / name, capsys=capsys)
        assert code == 0, err
        built[name] = tmp_path / f"{name}-dist"
    report = json.loads((built["history"] / "build_report.json").read_text())
    assert report["counts"]["annotations_deleted"] == sum(
        len(e.get("deleted", {}).get("annotations", [])) for e in index.values()
    )
    assert_same_dataset(built["history"], built["full"])
