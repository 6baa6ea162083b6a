"""`khc ls pull` without a real server: pseudonymisation, the change count, the pseudonym
map (keyed hash, key and map outside the repository, mode 0600, migration of the first
format), and a whole pull against a fake Label Studio on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from builders.errors import KhcError
from builders.labelstudio.connection import connect
from builders.labelstudio.pseudonyms import PSEUDONYM, Pseudonyms, key_path
from builders.labelstudio.pull import changes_since, map_location, pull
from builders.labelstudio.storing import pseudonymise
from builders.project import load_project
from tests.conftest import copy_project, declare
from tests.fake_server import fake_server

SHAPE = re.compile(r"ann-[0-9]{3,}")  # what the build accepts as `completed_by`
USERS = {1: "Admin@Example.org", 2: "annotator.b@example.org", 3: "c@example.org"}


@pytest.fixture
def map_path(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("KHC_PSEUDONYM_KEY", raising=False)
    return tmp_path / "outside" / "pseudonyms.json"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def task(tid: int, *annotations: dict, article_id: str = "khc-000001") -> dict:
    return {
        "id": tid,
        "data": {"text": "t", "article_id": article_id},
        "annotations": list(annotations),
        "predictions": [17],
        "drafts": [{"user": "someone@example.org"}],
        "updated_by": 1,
        "comment_authors": [{"email": "c@example.org"}],
    }


def annotation(aid: int, user, *, updated_at: str = "2026-11-01T00:00:00Z", cancelled: bool = False) -> dict:
    return {
        "id": aid,
        "completed_by": user,
        "result": [],
        "updated_at": updated_at,
        "was_cancelled": cancelled,
        "updated_by": user,
        "last_created_by": user,
        "created_username": "Admin@Example.org, 1",
    }


def test_pseudonymise_keeps_the_whitelist_and_replaces_every_user(map_path):
    names = Pseudonyms(map_path)
    tasks = [
        task(1, annotation(10, 1), annotation(11, {"id": 2, "email": "annotator.b@example.org"})),
        task(2, annotation(12, 2), annotation(13, 99)),  # 99: a deleted user, not in the user list
    ]
    predictions = {1: [{"id": 17, "model_version": "m1", "result": [], "task": 1, "created_by": 1}]}
    clean = pseudonymise(tasks, predictions, USERS, names)

    text = json.dumps(clean)
    assert not any(email.lower() in text.lower() for email in USERS.values())
    assert "drafts" not in text and "updated_by" not in text and "comment_authors" not in text
    assert "created_username" not in text and "last_created_by" not in text and "created_by" not in text
    by_id = {a["id"]: a["completed_by"] for t in clean for a in t["annotations"]}
    assert by_id[10] == names.of("admin@example.org")  # the address is normalised
    assert by_id[11] == by_id[12] == names.of(USERS[2])  # an id or a user object: the same person
    assert len({by_id[10], by_id[11], by_id[13]}) == 3
    assert all(SHAPE.fullmatch(p) for p in by_id.values())
    assert clean[0]["predictions"] == [{k: v for k, v in predictions[1][0].items() if k != "created_by"}]
    assert clean[1]["predictions"] == []


def test_a_deleted_user_keeps_their_pseudonym(map_path):
    names = Pseudonyms(map_path)
    tasks = [task(1, annotation(10, 2))]
    (before,) = pseudonymise(tasks, {}, USERS, names, server="http://ls")[0]["annotations"]
    names.save()
    gone = {k: v for k, v in USERS.items() if k != 2}  # user 2 was deleted in Label Studio
    (after,) = pseudonymise(tasks, {}, gone, Pseudonyms(map_path), server="http://ls")[0]["annotations"]
    assert after["completed_by"] == before["completed_by"]
    (elsewhere,) = pseudonymise(tasks, {}, gone, Pseudonyms(map_path), server="http://other")[0]["annotations"]
    assert elsewhere["completed_by"] != before["completed_by"]  # user 2 of another server is someone else


def test_changes_since_counts_new_updated_cancelled_and_removed():
    old = [task(1, annotation(1, 1), annotation(2, 2), annotation(3, 3))]
    new = [
        task(1, annotation(1, 1, updated_at="2026-11-02T00:00:00Z"), annotation(2, 2)),
        task(2, annotation(4, 1), annotation(5, 2, cancelled=True)),
    ]
    assert changes_since(old, new) == {"new": 2, "updated": 1, "cancelled": 1, "removed": 1}
    assert changes_since(None, new) == {"new": 4, "updated": 0, "cancelled": 1, "removed": 0}
    cancelled_before = [task(2, annotation(5, 2, cancelled=True))]
    assert changes_since(cancelled_before, new)["cancelled"] == 0  # cancelled already: not new


def test_map_and_key_are_private_keyed_and_stable(map_path):
    names = Pseudonyms(map_path)
    first, second = names.of(USERS[1]), names.of(USERS[2])
    assert (first, second) == ("ann-001", "ann-002")
    names.save()
    assert mode(map_path) == 0o600 and mode(key_path(map_path)) == 0o600
    assert mode(map_path.parent) == 0o700
    text = map_path.read_text()
    plain = hashlib.sha256(USERS[1].strip().lower().encode()).hexdigest()
    assert plain not in text and "example.org" not in text  # a dictionary of addresses does not reverse it
    again = Pseudonyms(map_path)
    assert (again.of(USERS[2]), again.of(USERS[1]), again.of("new@example.org")) == (second, first, "ann-003")


def test_the_key_can_come_from_the_environment_and_a_wrong_key_is_refused(map_path, monkeypatch):
    monkeypatch.setenv("KHC_PSEUDONYM_KEY", "k" * 32)
    names = Pseudonyms(map_path)
    names.of(USERS[1])
    names.save()
    assert not key_path(map_path).exists()
    assert Pseudonyms(map_path).of(USERS[1]) == "ann-001"
    monkeypatch.setenv("KHC_PSEUDONYM_KEY", "another key, 32 characters long")
    with pytest.raises(KhcError, match="does not match this map"):
        Pseudonyms(map_path)
    monkeypatch.delenv("KHC_PSEUDONYM_KEY")
    with pytest.raises(KhcError, match="pseudonym key is missing"):  # never a fresh key for an old map
        Pseudonyms(map_path)


def test_a_map_of_the_first_format_is_migrated_once_and_everyone_keeps_their_pseudonym(map_path):
    people = [f"person{i}@example.org" for i in range(1, 6)]
    old = {hashlib.sha256(p.encode()).hexdigest(): f"ann-{i:03d}" for i, p in enumerate(people, start=1)}
    map_path.parent.mkdir()
    map_path.write_text(json.dumps({"users": old}, indent=1, sort_keys=True) + "\n")  # as the old pull wrote it
    map_path.chmod(0o644)

    names = Pseudonyms(map_path)
    assert [names.of(p.upper()) for p in people] == [old[hashlib.sha256(p.encode()).hexdigest()] for p in people]
    text = map_path.read_text()  # migrated on reading: the plain hashes are gone from the disk
    assert not any(h in text for h in old) and json.loads(text)["format"] == "khc-pseudonyms-v2"
    assert mode(map_path) == 0o600
    assert names.of("someone.new@example.org") == f"ann-{len(people) + 1:03d}"
    reread = Pseudonyms(map_path)  # once: reading it again changes nothing
    assert map_path.read_text() == text and reread.map == json.loads(text)["users"]


def test_pseudonyms_keep_their_shape_past_999(map_path):
    names = Pseudonyms(map_path)
    names.map = {f"k{i}": f"ann-{i:03d}" for i in range(1, 1000)}
    assert names.of("one.more@example.org") == "ann-1000" and PSEUDONYM.fullmatch("ann-1000")


def test_a_map_holding_a_real_name_is_refused(map_path):
    names = Pseudonyms(map_path)
    names.of(USERS[1])
    names.save()
    data = json.loads(map_path.read_text())
    data["users"]["x" * 64] = "Firstname.Lastname"
    map_path.write_text(json.dumps(data))
    with pytest.raises(KhcError, match="not pseudonyms ann-NNN"):
        Pseudonyms(map_path)


def test_a_map_inside_the_project_is_refused(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "project", with_fixture_labels=False)
    declare(root, projects=[5])
    project = load_project(root)
    with pytest.raises(KhcError, match="inside the project") as raised:
        map_location(project, root / "annotations" / "pseudonyms.json")
    assert "annotations/pseudonyms.json" in str(raised.value)
    monkeypatch.setenv("KHC_PSEUDONYM_MAP", str(root / ".khc" / "pseudonyms.json"))
    with pytest.raises(KhcError, match="inside the project"):
        map_location(project, None)
    assert map_location(project, tmp_path / "elsewhere.json") == tmp_path / "elsewhere.json"


def fake_label_studio(tasks: object):
    """Answers of a Label Studio holding project 5 with `tasks` (and users USERS)."""

    def answer(method, path, headers):
        if path.startswith("/api/current-user/whoami"):
            return 200, {"id": 1, "email": USERS[1]}
        if path.startswith("/api/projects/5/export"):
            return 200, tasks
        if path.startswith("/api/tasks/"):  # the newest change, asked before the export; one page
            first = (
                tasks[:1] if isinstance(tasks, list) and all(isinstance(t, dict) and "id" in t for t in tasks) else []
            )
            page = [{"id": t["id"], "data": {}, "updated_at": "2026-11-01T00:00:00Z"} for t in first]
            return (200, {"tasks": page, "total": len(page)}) if "page=1" in path else (404, {"detail": "end"})
        if path.startswith("/api/projects/5"):
            return 200, {"id": 5, "title": "fake"}
        if path.startswith("/api/predictions/"):
            return 200, [{"id": 17, "task": 101, "model_version": "m1", "result": [], "project": 5}]
        if path.startswith("/api/users/"):
            return 200, [{"id": i, "email": e} for i, e in USERS.items()]
        return 404, {"detail": "not found"}

    return answer


def test_a_whole_pull_against_a_fake_server(tmp_path, map_path):
    root = copy_project(tmp_path / "project", with_fixture_labels=False)
    declare(root, projects=[5])
    tasks = [task(101, annotation(10, 1), annotation(11, 2), annotation(12, 99, cancelled=True))]
    with fake_server(fake_label_studio(tasks)) as url:
        result = pull(load_project(root), connect(url, "t" * 20), 5, map_path=map_path, now=datetime.now(UTC))
    snapshot = json.loads(result.path.read_text())
    assert result.path.parent == root / "annotations" / "exports"
    recorded = json.loads((root / "annotations" / "exports" / "snapshots.json").read_text())
    assert recorded[result.path.name]["ls_project"] == 5 and recorded[result.path.name]["coverage"] == "full"
    assert (result.tasks, result.annotations) == (1, 3)
    written = [a["completed_by"] for t in snapshot for a in t["annotations"]]
    assert all(isinstance(p, str) and SHAPE.fullmatch(p) for p in written) and len(set(written)) == 3
    assert snapshot[0]["predictions"][0]["model_version"] == "m1"
    assert mode(map_path) == 0o600
    names = Pseudonyms(map_path)
    assert written[:2] == [names.of(USERS[1]), names.of(USERS[2])]


@pytest.mark.parametrize(
    "export", [{"detail": "a JSON object"}, ["not a task"], [{"id": 1, "data": {}, "annotations": "many"}]]
)
def test_an_export_that_is_not_a_list_of_tasks_is_a_message(tmp_path, map_path, export):
    root = copy_project(tmp_path / "project", with_fixture_labels=False)
    declare(root, projects=[5])
    with fake_server(fake_label_studio(export)) as url, pytest.raises(KhcError) as raised:
        pull(load_project(root), connect(url, "t" * 20), 5, map_path=map_path)
    assert "is not a Label Studio export" in str(raised.value) and url in str(raised.value)
    assert not (root / "annotations" / "exports").exists() and not map_path.exists()
