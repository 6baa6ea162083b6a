"""Split assignment: deterministic, per article, and recorded assignments never move (the build enforces it)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from builders.corpus.splits import choose_splits, read_split_file
from builders.errors import KhcError
from tests.conftest import khc, tree_digest

RATIOS = {"train": 0.6, "validation": 0.2, "test": 0.2}


@pytest.fixture
def built_project(project_dir: Path) -> Path:
    assert khc("build", root=project_dir)[0] == 0
    return project_dir


def test_assignment_is_deterministic_and_independent_of_input_order():
    ids = [f"khc-{i:06d}" for i in range(1, 51)]
    first = choose_splits({}, ids, "seed", RATIOS)
    assert first == choose_splits({}, list(reversed(ids)), "seed", RATIOS)
    assert first != choose_splits({}, ids, "other-seed", RATIOS)


def test_small_corpora_get_every_split_and_large_ones_approach_the_ratios():
    five = list(choose_splits({}, ["a", "b", "c", "d", "e"], "s", RATIOS).values())
    assert sorted(five) == ["test", "train", "train", "train", "validation"]
    many = choose_splits({}, [f"a{i}" for i in range(1000)], "s", RATIOS)
    counts = {s: list(many.values()).count(s) for s in RATIOS}
    assert counts == {"train": 600, "validation": 200, "test": 200}


def test_recorded_articles_never_move_and_new_ones_fill_the_gaps():
    existing = {"a": "train", "b": "train", "c": "train"}
    new = choose_splits(existing, ["a", "b", "c", "d", "e"], "s", RATIOS)
    assert set(new) == {"d", "e"}  # a, b, c are not reassigned
    assert set(new.values()) == {"validation", "test"}


def test_split_file_errors_name_the_line(tmp_path):
    path = tmp_path / "splits.csv"
    path.write_text("article_id,split\nkhc-000001,train\nkhc-000002,dev\nkhc-000001,test\n")
    with pytest.raises(KhcError) as caught:
        read_split_file(path, "corpus/splits.csv")
    text = str(caught.value)
    assert "corpus/splits.csv: line 3" in text and "'dev'" in text
    assert "corpus/splits.csv: line 4: khc-000001 is listed twice" in text


# -- splits as an enforced invariant (issue 12 §4) ----------------------------------------------


def test_the_manifest_records_every_articles_split(built_project):
    manifest = json.loads((built_project / "dist" / "manifest.json").read_text())
    assert manifest["splits"] == read_split_file(built_project / "corpus" / "splits.csv", "splits.csv")


def test_a_moved_article_is_refused_against_the_previous_build(built_project, capsys):
    split_file = built_project / "corpus" / "splits.csv"
    recorded = read_split_file(split_file, "splits.csv")
    moved = next(a for a, s in recorded.items() if s == "train")
    split_file.write_text(split_file.read_text().replace(f"{moved},train", f"{moved},test"))
    before = tree_digest(built_project / "dist")
    code, _, err = khc("build", root=built_project, capsys=capsys)
    assert code == 1
    assert f"{moved}: in test now, but dist/manifest.json records it in train" in err
    assert "git checkout -- corpus/splits.csv" in err and "--resplit" in err
    assert tree_digest(built_project / "dist") == before


def test_a_deleted_split_file_is_refused_not_re_split(built_project, capsys):
    (built_project / "corpus" / "splits.csv").unlink()
    code, _, err = khc("build", root=built_project, capsys=capsys)
    assert code == 1 and "the split file is missing" in err and "git checkout -- corpus/splits.csv" in err
    assert not (built_project / "corpus" / "splits.csv").exists()


def test_a_release_record_holds_the_splits_too(project_dir, capsys):
    split_file = project_dir / "corpus" / "splits.csv"
    recorded = read_split_file(split_file, "splits.csv")
    (project_dir / "releases").mkdir()
    (project_dir / "releases" / "1.0.0.json").write_text(json.dumps({"version": "1.0.0", "splits": recorded}))
    moved = next(a for a, s in recorded.items() if s == "validation")
    split_file.write_text(split_file.read_text().replace(f"{moved},validation", f"{moved},train"))
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and f"{moved}: in train now, but releases/1.0.0.json records it in validation" in err
    # An article a release knew that the split file lost is refused too.
    split_file.write_text("\n".join(line for line in split_file.read_text().splitlines() if moved not in line) + "\n")
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and f"{moved}: its line is missing, but releases/1.0.0.json records it in validation" in err


def test_a_deliberate_re_split_needs_the_flag_and_is_counted(built_project, capsys):
    split_file = built_project / "corpus" / "splits.csv"
    split_file.unlink()
    code, out, err = khc("build", "--resplit", root=built_project, capsys=capsys)
    assert code == 0, err
    manifest = json.loads((built_project / "dist" / "manifest.json").read_text())
    assert manifest["splits"] == read_split_file(split_file, "splits.csv")
    moved = manifest["counts"].get("articles_moved_by_resplit", 0)
    assert f"articles_moved_by_resplit: {moved}" in out if moved else "articles_moved_by_resplit" not in out


def test_a_split_file_git_knows_is_not_re_created(project_dir, capsys):
    def git(*args):
        subprocess.run(["git", *args], cwd=project_dir, check=True, capture_output=True)

    git("init", "-q")
    git("add", "corpus/splits.csv")
    (project_dir / "corpus" / "splits.csv").unlink()  # no build yet, no release: git alone knows
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and "the split file is missing, though git records" in err


def test_a_new_project_gets_its_split_file_on_the_first_build(project_dir, capsys):
    (project_dir / "corpus" / "splits.csv").unlink()  # never recorded anywhere
    (project_dir / "corpus" / "folds.csv").unlink()  # a new project has no folds either
    assert khc("build", root=project_dir, capsys=capsys)[0] == 0
    assert len(read_split_file(project_dir / "corpus" / "splits.csv", "splits.csv")) == 5


class DiskFull:
    """A value whose text cannot be written: the disk filled while the record was appended."""

    def __str__(self) -> str:
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("anew", [False, True])
def test_a_record_whose_write_fails_is_left_as_it_was(tmp_path, anew):
    """corpus/splits.csv and folds.csv are committed records: a write that fails halfway (a full
    disk) leaves the file exactly as it was, with no partial row and no temporary file beside it."""
    from builders.corpus.splits import HEADER, append_records

    path = tmp_path / "splits.csv"
    append_records(path, HEADER, {"khc-000001": "train", "khc-000002": "test"})
    before = path.read_bytes()
    rows = {f"khc-{n:06d}": "train" for n in range(3, 3000)} | {"khc-999999": DiskFull()}
    with pytest.raises(OSError):
        append_records(path, HEADER, rows, anew=anew)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["splits.csv"]
    append_records(path, HEADER, {"khc-000003": "validation"}, anew=anew)
    expected = "khc-000003,validation\n" if anew else before.decode() + "khc-000003,validation\n"
    assert path.read_text(encoding="utf-8").endswith(expected)
    assert path.read_text(encoding="utf-8").startswith(",".join(HEADER) + "\n")
