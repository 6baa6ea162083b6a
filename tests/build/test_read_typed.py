"""The typed path of the read stage (decode.py, typed.py) against the way every task was read
before it: ijson's objects (`read.iter_tasks`), field by field (builders/build/reader.py). On the
same inputs, the same tables, counts, listings and problems, for well-formed exports, for each
kind of input the per-field path reports, repairs or lists, and for files that are not clean JSON."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from builders.build import read
from builders.errors import KhcError
from tests.build.test_read import BAD_TASKS, labels_of, newest
from tests.conftest import NEW_SNAPSHOT, load_export, save_export

FIRST_SPAN = ("annotations", 0, "result", 0)  # task 101's first annotation's first claim_type result


def item(tasks: list, path=FIRST_SPAN, task: int = 0) -> dict:
    found = tasks[task]
    for key in path:
        found = found[key]
    return found


def shift_offsets(tasks: list, by: int) -> None:
    value = item(tasks)["value"]
    value["start"] += by
    value["end"] += by


def crlf_offsets(tasks: list) -> None:
    """Offsets of the first span after a line end counted as if the text had CRLF line ends."""
    text = tasks[0]["data"]["text"]
    for result in tasks[0]["annotations"][0]["result"]:
        value = result["value"]
        if result["from_name"] == "claim_type" and "\n" in text[: value["start"]]:
            newlines = text[: value["start"]].count("\n")
            value["start"] += newlines
            value["end"] += newlines + text[value["start"] - newlines : value["end"] - newlines].count("\n")
            return
    raise AssertionError("no span after a line end")


def add_annotation(tasks: list, **fields) -> None:
    annotation = copy.deepcopy(tasks[0]["annotations"][0])
    annotation.update(id=77, completed_by="ann-z", **fields)
    tasks[0]["annotations"].append(annotation)


def add_prediction(tasks: list, prediction: object) -> None:
    tasks[1].setdefault("predictions", []).append(prediction)


def first_prediction(tasks: list) -> dict:
    return next(p for t in tasks for p in t.get("predictions") or [] if isinstance(p, dict))


CHANGES = [
    ("as exported", lambda t: None),
    ("offsets shifted (unique text repair)", lambda t: shift_offsets(t, 3)),
    ("offsets past the text", lambda t: shift_offsets(t, 10**6)),
    ("crlf offsets (repair)", crlf_offsets),
    ("span text changed", lambda t: item(t)["value"].update(text="not in the article")),
    ("span text with a carriage return", lambda t: item(t)["value"].update(text=item(t)["value"]["text"] + "\r")),
    ("span without text", lambda t: item(t)["value"].pop("text")),
    ("offsets as floats", lambda t: item(t)["value"].update(start=float(item(t)["value"]["start"]))),
    ("offsets as booleans", lambda t: item(t)["value"].update(start=True)),
    ("a label not in the schema", lambda t: item(t)["value"].update(labels=["hype"])),
    ("two labels", lambda t: item(t)["value"].update(labels=["safety", "efficacy"])),
    ("no labels", lambda t: item(t)["value"].update(labels=[])),
    ("a label that is a number", lambda t: item(t)["value"].update(labels=[3])),
    ("an unknown control", lambda t: item(t).update(from_name="sentiment")),
    ("a region id that is a number", lambda t: [r.update(id=5) for r in t[0]["annotations"][0]["result"][:2]]),
    ("two spans, one region id", lambda t: item(t, ("annotations", 0, "result", 2)).update(id=item(t)["id"])),
    ("evidence without a span", lambda t: item(t).update(id="elsewhere")),
    ("two evidence choices", lambda t: item(t, ("annotations", 0, "result", 3)).update(id=item(t)["id"])),
    ("no origin", lambda t: item(t).pop("origin")),
    ("an unknown origin", lambda t: item(t).update(origin="robot")),
    (
        "an article answer given per span",
        lambda t: item(t, ("annotations", 0, "result", 4), task=1)["value"].update(start=0),
    ),
    ("two risk lists", lambda t: t[1]["annotations"][0]["result"].append(item(t, ("annotations", 0, "result", 4), 1))),
    ("a cancelled annotation", lambda t: t[0]["annotations"][1].update(was_cancelled=True)),
    ("was_cancelled null", lambda t: t[0]["annotations"][1].update(was_cancelled=None)),
    ("an empty annotation", lambda t: add_annotation(t, result=[])),
    ("a ground truth", lambda t: t[0]["annotations"][1].update(ground_truth=True)),
    ("a parent prediction", lambda t: t[0]["annotations"][1].update(parent_prediction=901)),
    ("times as numbers", lambda t: t[0]["annotations"][1].update(created_at=1_790_000_000)),
    ("times absent", lambda t: [t[0]["annotations"][1].pop(k, None) for k in ("created_at", "updated_at")]),
    ("a task of another project", lambda t: t[0].update(project=8)),
    ("a task with project null", lambda t: t[0].update(project=None)),
    ("a task without a project", lambda t: t[0].pop("project", None)),
    ("a task id as digits", lambda t: t[0].update(id="101")),
    ("a task without an id", lambda t: t[0].pop("id")),
    ("an article not in the corpus", lambda t: t[0]["data"].update(article_id="khc-999999")),
    ("an article text changed", lambda t: t[0]["data"].update(text=t[0]["data"]["text"] + " more")),
    ("an article text with crlf", lambda t: t[0]["data"].update(text=t[0]["data"]["text"].replace("\n", "\r\n"))),
    ("the text left out, its hash given", lambda t: t[0]["data"].pop("text")),
    ("a guideline version that is a number", lambda t: t[0]["data"].update(guideline_version=2)),
    ("prediction ids only", lambda t: add_prediction(t, 901)),
    ("a prediction id that is text", lambda t: add_prediction(t, "901")),
    ("a prediction copied unchanged", lambda t: add_prediction(t, copy.deepcopy(first_prediction(t)))),
    (
        "a prediction copied with other labels",
        lambda t: add_prediction(t, {**copy.deepcopy(first_prediction(t)), "result": []}),
    ),
    ("a prediction of another model", lambda t: add_prediction(t, {**first_prediction(t), "model_version": "old-v0"})),
    ("a prediction without a model version", lambda t: add_prediction(t, {**first_prediction(t), "model_version": ""})),
    ("a task that is a list", lambda t: t.append([1, 2])),
    ("a task that is a number", lambda t: t.append(5)),
    *[(case, change, None) for case, change, _message in BAD_TASKS],
]
CHANGES = [(c[0], c[1]) for c in CHANGES]


def as_before(path, shown, _ends=None):
    """The tasks as the read stage took them before: ijson's objects, to be read field by field."""
    return read.iter_tasks(path, shown)


def outcome(root, **options):
    """What the read stage gives: its labels, or the text of every problem it reports."""
    try:
        labels = labels_of(root, **options)
    except KhcError as exc:
        return [str(p) for p in exc.problems]
    return labels


def assert_same(typed, plain) -> None:
    assert type(typed) is type(plain), (typed, plain)
    if isinstance(typed, list):
        assert typed == plain
        return
    pd.testing.assert_frame_equal(typed.units, plain.units)
    pd.testing.assert_frame_equal(typed.spans, plain.spans)
    assert dict(typed.counts) == dict(plain.counts)
    assert json.dumps(typed.report, sort_keys=True, default=str) == json.dumps(
        plain.report, sort_keys=True, default=str
    )


@pytest.fixture
def counted(monkeypatch):
    """How many tasks the typed path read (it is wrapped, not changed)."""
    taken = []
    typed = read.read_typed

    def counting(*args):
        accepted = typed(*args)
        taken.append(accepted)
        return accepted

    monkeypatch.setattr(read, "read_typed", counting)
    return taken


@pytest.mark.parametrize("skip_invalid", [False, True], ids=["strict", "skip-invalid"])
@pytest.mark.parametrize(("case", "change"), CHANGES, ids=[c[0] for c in CHANGES])
def test_the_typed_path_reads_what_the_per_field_path_reads(
    project_dir, monkeypatch, counted, case, change, skip_invalid
):
    tasks = newest(project_dir)
    change(tasks)
    save_export(project_dir / NEW_SNAPSHOT, tasks)
    typed = outcome(project_dir, skip_invalid=skip_invalid)
    assert any(counted), "the typed path read no task"
    monkeypatch.setattr(read, "iter_elements", as_before)
    assert_same(typed, outcome(project_dir, skip_invalid=skip_invalid))


def tasks_at(document: bytes, task: int) -> int:
    """Where the `task`-th task's object starts in a saved export (indent=1: one space before it)."""
    position = -1
    for _ in range(task + 1):
        position = document.index(b'\n {\n  "id"', position + 1)
    return position + 2


FILE_CHANGES = [
    ("cut in the third task", lambda d: d[: tasks_at(d, 2) + 40]),
    ("cut after the last task", lambda d: d.rstrip()[:-1]),
    ("a comma before the closing bracket", lambda d: d.rstrip()[:-1] + b",]"),
    ("text after the list", lambda d: d + b" [1]"),
    ("a stray character between tasks", lambda d: d[: tasks_at(d, 2) - 1] + b"x" + d[tasks_at(d, 2) - 1 :]),
    ("two commas between tasks", lambda d: d[: tasks_at(d, 2) - 1] + b"," + d[tasks_at(d, 2) - 1 :]),
    ("a number in the list", lambda d: d[: tasks_at(d, 2)] + b"5, " + d[tasks_at(d, 2) :]),
    ("a number after the last task", lambda d: d.rstrip()[:-1] + b", 5]"),
    ("an empty list", lambda d: b"[ ]"),
    ("a list of numbers", lambda d: b"[1, 2]"),
    ("a byte-order mark and no whitespace", lambda d: b"\xef\xbb\xbf" + json.dumps(json.loads(d)).encode()),
    (
        "a lone surrogate in a string",
        lambda d: d.replace(b'"guideline_version": "', b'"guideline_version": "\\ud800', 1),
    ),
    ("a number beyond 64 bits", lambda d: d.replace(b'"id": 101', b'"id": 123456789012345678901234567890', 1)),
    ("a float beyond a double where khc reads nothing", lambda d: d.replace(b'"id": 101', b'"id": 101, "x": 1E400', 1)),
    ("a huge integer where khc reads nothing", lambda d: d.replace(b'"id": 101', b'"id": 101, "x": -%d' % 2**70, 1)),
    ("a vertical tab between tasks", lambda d: d[: tasks_at(d, 2)] + b"\x0b" + d[tasks_at(d, 2) :]),
]


def only_the_newest_snapshot(root) -> None:
    """Leave the newest snapshot alone, so no first pass (the annotation index) reads it with ijson."""
    exports = root / NEW_SNAPSHOT.rsplit("/", 1)[0]
    recorded = json.loads((exports / "snapshots.json").read_text(encoding="utf-8"))
    for name in [n for n in recorded if n != NEW_SNAPSHOT.rsplit("/", 1)[1]]:
        (exports / name).unlink()
        del recorded[name]
    (exports / "snapshots.json").write_text(json.dumps(recorded), encoding="utf-8")


@pytest.mark.parametrize("alone", [False, True], ids=["merged", "alone"])
@pytest.mark.parametrize(("case", "change"), FILE_CHANGES, ids=[c[0] for c in FILE_CHANGES])
def test_a_file_that_is_not_a_clean_list_reads_as_before(project_dir, monkeypatch, case, change, alone):
    if alone:
        only_the_newest_snapshot(project_dir)
    path = project_dir / NEW_SNAPSHOT
    path.write_bytes(change(path.read_bytes()))
    typed = outcome(project_dir)
    monkeypatch.setattr(read, "iter_elements", as_before)
    assert_same(typed, outcome(project_dir))


def test_well_formed_exports_take_the_typed_path(project_dir, counted):
    """Every task but those whose text has CRLF line ends (counted, and their spans' offsets
    repaired, by the per-field path) is read by the typed path."""
    files = sorted((project_dir / "annotations" / "exports").glob("project-*.json"))
    files += sorted((project_dir / "annotations" / "predictions").glob("*.json"))
    tasks = [task for path in files for task in load_export(path)]
    labels_of(project_dir)
    assert len(counted) == len(tasks)
    assert counted == ["\r" not in task["data"]["text"] for task in tasks]
