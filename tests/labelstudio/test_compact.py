"""`khc snapshots compact` streams (issue 17): every copy of every task goes to a spill file and
the merged tasks are written one at a time, in the bytes the whole merged list gave before (the
reference below is that code: every task merged in memory, then one json.dumps)."""

from __future__ import annotations

import copy
import gzip
import json
import tracemalloc
from datetime import UTC, datetime

import pytest

from builders.build import read
from builders.build.index import build_index
from builders.build.read import iter_tasks
from builders.build.snapshots import find_snapshots
from builders.labelstudio.compact import compact
from builders.project import load_project
from tests.build.test_snapshots_delta import EXPORTS, base_tasks, delta, final_state, full, project_with
from tests.conftest import copy_project


def whole_list_bytes(root, project_id: int = 7) -> bytes:
    """What compact wrote before it streamed: all tasks merged in memory, dumped at once."""
    snapshots = [s for s in find_snapshots(load_project(root))[0] if s.ls_project == project_id]
    keeps = build_index(snapshots, lambda s: iter_tasks(s.path, s.shown)).keeps
    tasks: dict = {}
    for position, snapshot in enumerate(snapshots):
        for task in iter_tasks(snapshot.path, snapshot.shown):
            merged = tasks.setdefault(task.get("id"), {"annotations": {}, "predictions": {}})
            annotations, predictions = merged["annotations"], merged["predictions"]
            data = {**merged.get("data", {}), **(task.get("data") or {})}
            merged.update({k: v for k, v in task.items() if k not in ("annotations", "predictions")}, data=data)
            for annotation in task.get("annotations") or []:
                if keeps((snapshot.ls_project, annotation.get("id")), position):
                    annotations[annotation.get("id")] = annotation
            for prediction in task.get("predictions") or []:
                predictions.setdefault(prediction.get("id") if isinstance(prediction, dict) else prediction, prediction)
            merged["annotations"], merged["predictions"] = annotations, predictions

    def in_order(items: dict) -> list:
        return [items[k] for k in sorted(items, key=lambda k: str(k).zfill(20))]

    listed = [
        {**t, "annotations": in_order(t["annotations"]), "predictions": in_order(t["predictions"])}
        for _tid, t in sorted(tasks.items(), key=lambda item: str(item[0]).zfill(20))
    ]
    return (json.dumps(listed, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def three_snapshots(root, copies: int = 1) -> None:
    """The fixture's project pulled in full, then two deltas (an update, a deletion, a cancelled
    annotation; a task seen again unchanged; a copy without its text), `copies` times over."""
    base0 = base_tasks()
    final0, changed, ids = final_state(base0)
    base, first, second = [], [], []
    for n in range(copies):
        base += [renumbered(t, n) for t in base0]
        first += [renumbered(t, n) for t in final0 if t["id"] in changed]
        second += [{**renumbered(t, n), "data": {k: v for k, v in t["data"].items() if k != "text"}}
                   for t in final0 if t["id"] == 101]  # fmt: skip
    deleted = [1000 * n + ids["deleted"] for n in range(copies)]
    project_with(
        root,
        [
            ("project-7-20261101T120000Z.json", base, full("2026-11-01T12:00:00.000000Z")),
            ("project-7-delta-20261106T000000Z.json", first, delta("2026-11-06T00:00:00.000000Z", deleted)),
            ("project-7-delta-20261107T000000Z.json", second, delta("2026-11-07T00:00:00.000000Z")),
        ],
    )


def renumbered(task: dict, n: int) -> dict:
    """Copy `n` of a fixture task: task and annotation ids moved by 1000 n (0: the task itself)."""
    task = copy.deepcopy(task)
    if n:
        task["id"] += 1000 * n
        for annotation in task["annotations"]:
            annotation["id"] += 1000 * n
    return task


@pytest.mark.parametrize("compress", [False, True])
def test_a_streamed_compaction_writes_the_bytes_the_whole_list_gave(tmp_path, compress):
    root = copy_project(tmp_path / "project")
    three_snapshots(root)
    expected = whole_list_bytes(root)
    result = compact(load_project(root), 7, compress=compress, now=datetime(2026, 12, 1, tzinfo=UTC))
    written = result.path.read_bytes()
    assert (gzip.decompress(written) if compress else written) == expected
    assert result.tasks == len(json.loads(expected)) and len(result.folded) == 3
    folder = root / EXPORTS
    assert sorted(p.name for p in folder.iterdir()) == sorted([result.path.name, "snapshots.json"])  # no spill left


def traced_peak(tmp_path, copies: int) -> tuple[int, int]:
    root = copy_project(tmp_path / f"copies-{copies}")
    three_snapshots(root, copies)
    size = sum(p.stat().st_size for p in (root / EXPORTS).iterdir())
    tracemalloc.start()
    try:
        result = compact(load_project(root), 7, now=datetime(2026, 12, 1, tzinfo=UTC))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.tasks == copies * len(base_tasks())
    return peak, size


def test_a_compaction_holds_one_task_at_a_time_not_the_project(tmp_path, monkeypatch):
    # The guard's scan (check_bounds) holds the bracket positions of one 16 MiB chunk, flat in a
    # file's size but more than these files: it reads 1 MiB chunks here, to measure compact's own.
    def small_chunks(path):
        with read._open(path) as handle:
            yield from read._chunks_of(handle, 2**20)

    monkeypatch.setattr(read, "_chunks", small_chunks)
    small, small_size = traced_peak(tmp_path, 10)
    large, large_size = traced_peak(tmp_path, 200)
    # Holding every task (parsed, then dumped as one text) would add several times the growth in
    # the snapshots' size; what grows is the index of annotation ids and the spill's offsets.
    grown = large_size - small_size
    assert large - small < grown / 3, f"{(large - small) / 2**20:.1f} MiB more for {grown / 2**20:.1f} MiB more"
