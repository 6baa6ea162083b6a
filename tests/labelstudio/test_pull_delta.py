"""Incremental `khc ls pull` against a fake Label Studio on 127.0.0.1 that answers the calls a
pull makes (the real server's behaviour is tested in test_incremental.py): which tasks a delta
asks for, what it records, and when a pull must be a full one."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from builders.build.snapshots import read_index
from builders.labelstudio.connection import connect
from builders.labelstudio.pull import pull
from builders.project import load_project
from tests.conftest import copy_project, declare
from tests.fake_server import fake_server

USERS = {1: "a@example.org", 2: "b@example.org"}
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeProject:
    """Project 5: tasks in Label Studio's export shape; every change bumps the task's updated_at."""

    def __init__(self, n: int):
        self.clock = T0
        self.tasks = {tid: self._task(tid) for tid in range(101, 101 + n)}
        self.exported: list[list[int] | None] = []  # the ids each export asked for (None: all)

    def tick(self) -> str:
        self.clock += timedelta(seconds=30)
        return stamp(self.clock)

    def _task(self, tid: int) -> dict:
        at = self.tick()
        return {"id": tid, "data": {"text": "t", "article_id": "khc-000001"}, "annotations": [],
                "predictions": [], "updated_at": at, "created_at": at}  # fmt: skip

    def annotate(self, tid: int, aid: int, user: int = 1, **fields) -> None:
        task = self.tasks[tid]
        at = self.tick()
        task["annotations"] = [a for a in task["annotations"] if a["id"] != aid]
        task["annotations"].append({"id": aid, "completed_by": user, "result": [], "was_cancelled": False,
                                    "created_at": at, "updated_at": at, **fields})  # fmt: skip
        task["updated_at"] = at

    def delete(self, tid: int, aid: int) -> None:
        task = self.tasks[tid]
        task["annotations"] = [a for a in task["annotations"] if a["id"] != aid]
        task["updated_at"] = self.tick()

    def answer(self, method: str, path: str, headers: dict) -> tuple[int, object]:
        url = urlsplit(path)
        query = parse_qs(url.query)
        if url.path.startswith("/api/current-user/whoami"):
            return 200, {"id": 1, "email": USERS[1]}
        if url.path == "/api/projects/5/export":
            ids = [int(i) for i in query.get("ids[]", [])] or None
            self.exported.append(ids)
            return 200, [copy.deepcopy(t) for tid, t in sorted(self.tasks.items()) if ids is None or tid in ids]
        if url.path.rstrip("/") == "/api/projects/5":
            return 200, {"id": 5, "title": "fake", "task_number": len(self.tasks)}
        if url.path.startswith("/api/tasks"):
            if query.get("page", ["1"]) != ["1"]:
                return 404, {"detail": "Invalid page."}
            return 200, {"tasks": self._listed(json.loads(query["query"][0])), "total": len(self.tasks)}
        if url.path.startswith("/api/predictions"):
            return 200, []
        if url.path.startswith("/api/users"):
            return 200, [{"id": i, "email": e} for i, e in USERS.items()]
        return 404, {"detail": "not found"}

    def _listed(self, query: dict) -> list[dict]:
        tasks = sorted(self.tasks.values(), key=lambda t: t["updated_at"], reverse=True)
        for item in query.get("filters", {}).get("items", []):
            assert item["filter"] == "filter:tasks:updated_at" and item["operator"] == "greater"
            tasks = [t for t in tasks if t["updated_at"] > item["value"]]
        return [{"id": t["id"], "data": t["data"], "updated_at": t["updated_at"]} for t in tasks]


@pytest.fixture
def root(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("KHC_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("KHC_PSEUDONYM_MAP", str(tmp_path / "outside" / "pseudonyms.json"))
    project = copy_project(tmp_path / "project", with_fixture_labels=False)
    declare(project, projects=[5])
    return project


def pulled(root: Path, fake: FakeProject, **options):
    with fake_server(fake.answer) as url:
        return pull(load_project(root), connect(url, "t" * 20), 5, **options)


def test_a_delta_holds_the_changed_tasks_and_records_deletions_and_its_marks(root):
    fake = FakeProject(6)
    fake.annotate(101, 1)
    fake.annotate(102, 2)
    fake.annotate(102, 3, user=2)
    first = pulled(root, fake, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert first.coverage == "full" and fake.exported == [None]
    assert read_index(load_project(root))[first.path.name]["high_water"] == fake.tasks[102]["updated_at"]

    fake.annotate(101, 1, result=[{"changed": True}])  # updated
    fake.delete(102, 3)  # deleted
    fake.annotate(104, 4, was_cancelled=True)  # a skip
    second = pulled(root, fake, now=datetime(2026, 12, 2, tzinfo=UTC))
    assert second.coverage == "delta" and fake.exported[-1] == [101, 102, 104]
    assert second.changes == {"new": 1, "updated": 1, "cancelled": 1, "removed": 1}
    entry = read_index(load_project(root))[second.path.name]
    assert entry["deleted"] == {"annotations": [3], "predictions": []}
    assert entry["since"] == read_index(load_project(root))[first.path.name]["high_water"]
    assert entry["high_water"] == fake.tasks[104]["updated_at"]
    held = json.loads(second.path.read_text())
    assert [t["id"] for t in held] == [101, 102, 104]
    assert [a["was_cancelled"] for a in held[2]["annotations"]] == [True]  # as Label Studio wrote it

    calls = len(fake.exported)
    third = pulled(root, fake, now=datetime(2026, 12, 3, tzinfo=UTC))
    assert third.path is None and len(fake.exported) == calls  # nothing changed: nothing asked, nothing written


def test_a_deleted_task_makes_the_pull_a_full_one(root):
    fake = FakeProject(4)
    fake.annotate(101, 1)
    pulled(root, fake, now=datetime(2026, 12, 1, tzinfo=UTC))
    del fake.tasks[103]  # no tombstone: only the count of tasks tells
    fake.annotate(101, 1, result=[{"changed": True}])
    result = pulled(root, fake, now=datetime(2026, 12, 2, tzinfo=UTC))
    assert result.coverage == "full" and fake.exported[-1] is None
    assert any("deleted in Label Studio" in note for note in result.notes)


def test_full_on_request(root):
    fake = FakeProject(3)
    pulled(root, fake, now=datetime(2026, 12, 1, tzinfo=UTC))
    result = pulled(root, fake, full=True, now=datetime(2026, 12, 2, tzinfo=UTC))
    assert result.coverage == "full" and fake.exported == [None, None]
    assert sorted(read_index(load_project(root))) == sorted(p.name for p in result.path.parent.glob("project-*"))


def test_a_pull_interrupted_after_writing_leaves_nothing(root, monkeypatch):
    fake = FakeProject(3)
    pulled(root, fake, now=datetime(2026, 12, 1, tzinfo=UTC))
    folder = root / "annotations" / "exports"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    fake.annotate(101, 1)

    def interrupted(folder, entries):  # Ctrl-C after the snapshot's rename, before the index's
        raise KeyboardInterrupt

    monkeypatch.setattr("builders.labelstudio.writing.write_index", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pulled(root, fake, now=datetime(2026, 12, 2, tzinfo=UTC))
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_timeout_that_is_not_positive_is_refused(root, capsys):
    from tests.conftest import khc

    code, _, err = khc("ls", "pull", "--project-id", "5", "--timeout", "0", root=root, capsys=capsys)
    assert code == 1 and "--timeout 0 is not a positive number of seconds" in err


def test_the_state_held_is_cached_and_the_cache_is_what_the_snapshots_hold(root):
    from builders.labelstudio.delta import CACHE_DIR, held_state

    fake = FakeProject(4)
    fake.annotate(101, 1)
    pulled(root, fake, now=datetime(2026, 12, 1, tzinfo=UTC))
    fake.annotate(102, 2, was_cancelled=True)
    fake.delete(101, 1)
    pulled(root, fake, now=datetime(2026, 12, 2, tzinfo=UTC))
    (cache,) = (root / CACHE_DIR).glob("pull-state-*.json")
    project = load_project(root)
    written = sorted(p.name for p in (root / "annotations" / "exports").glob("project-*"))
    assert sorted(name for name, _size, _time in json.loads(cache.read_text())["files"]) == written  # both pulls'
    from_cache = held_state(project, 5)
    cache.write_text("damaged")
    fresh = held_state(project, 5)
    assert from_cache.tasks == fresh.tasks and from_cache.since == fresh.since
    assert fresh.tasks[101].annotations == {} and fresh.tasks[102].annotations[2][1] is True


def test_a_delta_is_ordered_after_what_it_adds_to_whatever_the_clock_says(root):
    fake = FakeProject(3)
    fake.annotate(101, 1)
    first = pulled(root, fake, now=datetime(2026, 12, 5, tzinfo=UTC))
    fake.delete(101, 1)
    second = pulled(root, fake, now=datetime(2026, 12, 2, tzinfo=UTC))  # this machine's clock is behind
    index = read_index(load_project(root))
    assert index[second.path.name]["exported_at"] > index[first.path.name]["exported_at"]
    from builders.build.snapshots import find_snapshots

    assert [s.coverage for s in find_snapshots(load_project(root))[0]] == ["full", "delta"]


def test_a_save_in_flight_when_a_pull_read_its_mark_is_in_the_next_pull(root):
    """Label Studio takes a save's `updated_at` before it commits it: a save in flight when a pull
    read its mark M has a time before M and is not in that pull. The server's clock R (its HTTP
    Date) was less than the overlap after M, so the next pull lists from R - overlap and finds it."""
    fake = FakeProject(3)
    now = datetime.now(UTC)  # the fake server's Date is this machine's clock
    fake.tasks[103]["updated_at"] = stamp(now - timedelta(seconds=1))  # the newest save, just now
    first = pulled(root, fake)
    record = read_index(load_project(root))[first.path.name]
    assert first.coverage == "full" and record["high_water"] == fake.tasks[103]["updated_at"] and record["server_time"]
    fake.annotate(102, 7)  # committed only now, with the time it was given before the mark
    fake.tasks[102]["annotations"][0]["updated_at"] = fake.tasks[102]["updated_at"] = stamp(now - timedelta(seconds=3))
    second = pulled(root, fake)
    assert second.coverage == "delta" and second.changes["new"] == 1
    assert [t["id"] for t in json.loads(second.path.read_text())] == [102]


def test_after_an_idle_moment_a_pull_lists_only_what_changed_since_the_mark(root):
    """Saves long before the server's clock were all committed when the mark was read: the next
    pull lists from the mark itself, not from the mark less the overlap (nothing is listed again)."""
    fake = FakeProject(3)
    now = datetime.now(UTC)
    for n, tid in enumerate(sorted(fake.tasks)):  # three saves a second apart, 20 s ago
        fake.tasks[tid]["updated_at"] = stamp(now - timedelta(seconds=22 - n))
    assert pulled(root, fake).coverage == "full"
    fake.annotate(101, 8)
    fake.tasks[101]["annotations"][0]["updated_at"] = fake.tasks[101]["updated_at"] = stamp(now)
    second = pulled(root, fake)
    assert (second.coverage, second.listed, second.tasks) == ("delta", 1, 1)


@pytest.mark.parametrize("incremental", [False, True])
def test_a_pull_reads_the_corpus_once(root, monkeypatch, incremental):
    """The corpus is read and checked whole (every text hashed): a pull, full or incremental, reads it once."""
    from builders.corpus import records

    fake = FakeProject(4)
    fake.annotate(101, 1)
    pulled(root, fake, now=datetime(2026, 12, 1, tzinfo=UTC))
    if incremental:
        fake.annotate(102, 2)
    reads = []
    real = records._records  # what load_corpus and read_records both read the file with
    monkeypatch.setattr(records, "_records", lambda project: reads.append(1) or real(project))
    result = pulled(root, fake, now=datetime(2026, 12, 2, tzinfo=UTC), full=not incremental)
    assert result.coverage == ("delta" if incremental else "full") and result.tasks > 0
    assert len(reads) == 1
