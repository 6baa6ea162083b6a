"""Output safety: `--out` replaces only an empty folder or an earlier output of this dataset,
refuses everything else with nothing touched, swaps atomically and clears what killed builds
left (builders/build/output.py). The kills themselves are in tests/test_kill.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from builders.build.output import output_target, recover, staged_output
from builders.errors import KhcError
from builders.project import load_project
from tests.conftest import copy_project, khc, tree_digest


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A project with a build in dist/ (the tests copy it before changing anything)."""
    root = copy_project(tmp_path_factory.mktemp("output") / "project")
    assert khc("build", root=root)[0] == 0
    return root


@pytest.fixture
def project(built, tmp_path) -> Path:
    root = tmp_path / "project"
    subprocess.run(["cp", "-a", str(built), str(root)], check=True)
    return root


def everything(folder: Path) -> dict[str, str]:
    """Digest of every file below `folder`, hidden ones included, and of the files beside it."""
    return {**tree_digest(folder), **{f"../{p.name}": "" for p in folder.parent.iterdir()}}


def refused(root: Path, out: str, capsys, *words: str) -> str:
    code, _, err = khc("build", "--out", out, root=root, capsys=capsys)
    assert code == 1, err
    assert "Traceback" not in err and "what to do:" in err
    for word in words:
        assert word in err, err
    return err


def test_a_folder_with_user_files_is_refused_and_kept(project, tmp_path, capsys):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work\n")
    (mine / "sub" / "data.csv").write_text("a,b\n")
    before = everything(mine)
    refused(project, str(mine), capsys, str(mine), "thesis.tex", "not an earlier build")
    assert everything(mine) == before


def test_the_project_folder_is_refused(project, capsys):
    before = everything(project)
    refused(project, str(project), capsys, "the project folder")
    refused(project, str(project.parent), capsys, "holds the project folder")
    assert everything(project) == before


def test_dot_from_inside_the_project_is_refused(project):
    before = everything(project)
    result = subprocess.run(
        [sys.executable, "-m", "builders.cli", "build", "--out", "."],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert result.returncode == 1 and "the project folder" in result.stderr, result.stderr
    assert everything(project) == before


@pytest.mark.parametrize("folder", ["corpus", "annotations", "corpus/sources", "annotations/exports/new"])
def test_input_folders_are_refused(project, folder, capsys):
    before = everything(project)
    refused(project, str(project / folder), capsys, f"input folder {folder.split('/')[0]}/")
    assert everything(project) == before


def test_a_file_is_refused_and_not_renamed(project, tmp_path, capsys):
    file = tmp_path / "notes.txt"
    file.write_text("mine\n")
    before = everything(file.parent)
    refused(project, str(file), capsys, "names a file")
    assert everything(file.parent) == before and file.read_text() == "mine\n"


def test_a_link_is_judged_by_what_it_points_at(project, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine\n")
    link = tmp_path / "link"
    link.symlink_to(mine)
    refused(project, str(link), capsys, "a link to", "keep.txt")
    assert (mine / "keep.txt").read_text() == "mine\n" and link.is_symlink()
    # A link to an earlier output: the folder it points at is replaced, the link stays.
    (tmp_path / "to-dist").symlink_to(project / "dist")
    assert khc("build", "--out", str(tmp_path / "to-dist"), root=project)[0] == 0
    assert (tmp_path / "to-dist").is_symlink() and (project / "dist" / "manifest.json").is_file()
    # A link to the corpus is the corpus.
    (tmp_path / "to-corpus").symlink_to(project / "corpus")
    refused(project, str(tmp_path / "to-corpus"), capsys, "input folder corpus/")


def test_an_earlier_output_with_a_file_added_is_refused(project, capsys):
    (project / "dist" / "my-notes.md").write_text("mine\n")
    refused(project, str(project / "dist"), capsys, "my-notes.md")
    assert (project / "dist" / "my-notes.md").read_text() == "mine\n"


def test_an_output_of_another_dataset_is_refused(project, capsys):
    manifest = project / "dist" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "dataset": "someone-else"}))
    refused(project, str(project / "dist"), capsys, "not an earlier build of ketamine-health-claims")


def test_empty_missing_and_earlier_outputs_are_replaced(project, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (empty, tmp_path / "new" / "deeper", project / "dist"):
        assert khc("build", "--out", str(out), root=project)[0] == 0
        assert (out / "manifest.json").is_file()
        assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert tree_digest(empty) == tree_digest(project / "dist")


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_the_swap_leaves_nothing_beside(project, exchange, monkeypatch):
    if not exchange:
        monkeypatch.setenv("KHC_TEST_NO_EXCHANGE", "1")
    p = load_project(project)
    target = output_target(project / "dist", p)
    before = tree_digest(target)
    with staged_output(target, p) as stage:
        for rel in before:
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            (stage / rel).write_bytes((target / rel).read_bytes())
        (stage / "README.md").write_text("new\n")
    assert (target / "README.md").read_text() == "new\n"
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".dist")) == []


def test_a_reader_always_finds_a_complete_output(project):
    """Under the exchange, the name never goes missing while outputs are swapped in."""
    p = load_project(project)
    target = output_target(project / "dist", p)
    files = tree_digest(target)
    missing: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                json.loads((target / "manifest.json").read_text())
            except (FileNotFoundError, ValueError) as exc:
                missing.append(repr(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(20):
            with staged_output(target, p) as stage:
                for rel in files:
                    (stage / rel).parent.mkdir(parents=True, exist_ok=True)
                    (stage / rel).write_bytes((target / rel).read_bytes())
                (stage / "README.md").write_text(f"round {n}\n")
    finally:
        done.set()
        reader.join()
    assert missing == []


def test_an_error_while_writing_names_the_file_and_keeps_the_output(project):
    p = load_project(project)
    target = output_target(project / "dist", p)
    before = tree_digest(target)
    with pytest.raises(KhcError, match="No space left") as caught:
        with staged_output(target, p) as stage:
            raise OSError(28, "No space left on device", str(stage / "claims" / "x.parquet"))
    assert "x.parquet" in str(caught.value) and "previous output is untouched" in str(caught.value)
    assert tree_digest(target) == before
    assert not [x for x in project.iterdir() if x.name.startswith(".dist.")]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_dead_processes_are_cleared_and_a_missing_output_restored(project):
    dist = project / "dist"
    before = tree_digest(dist)
    pid = dead_pid()
    dist.rename(project / f".dist.old-{pid}")  # killed between the two renames
    (project / f".dist.building-{pid}-abcd").mkdir()  # and its half-written stage
    live = project / f".dist.building-{os.getppid()}-live"  # a running build's stage
    live.mkdir()
    recover(dist)
    assert tree_digest(dist) == before
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".dist.")) == [live.name]
    # With the output there, an old folder of a dead process is removed, not restored.
    (project / f".dist.old-{pid}").mkdir()
    recover(dist)
    assert tree_digest(dist) == before and not (project / f".dist.old-{pid}").exists()


def test_verify_out_uses_the_same_rule(project, tmp_path, capsys):
    from builders.release.verify import verify

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine\n")
    with pytest.raises(KhcError, match="not an earlier build"):
        verify(load_project(project), "9.9.9", mine)  # refused before the release is even looked up
    assert (mine / "keep.txt").read_text() == "mine\n"


def ingest_a_new_article(project, tmp_path):
    from tests.conftest import ARTICLE_PROSE

    article = tmp_path / "new.txt"
    article.write_text("Ketamine eases pain for weeks, a clinic says.\n" + ARTICLE_PROSE, encoding="utf-8")
    assert khc("ingest", str(article), "--title", "New", root=project)[0] == 0


def full_disk(*args, **kwargs):
    raise OSError(28, "No space left on device")


def test_a_build_that_fails_after_recording_new_splits_names_them(project, tmp_path, monkeypatch, capsys):
    """The build records a new article's fold (its split was recorded by ingest) before it writes
    dist/: when writing then fails, the message lists that file (kept: the next build reuses it),
    not "nothing was written"."""
    from builders.build import pipeline

    ingest_a_new_article(project, tmp_path)
    folds_before = (project / "corpus" / "folds.csv").read_text(encoding="utf-8")
    dist_before = everything(project / "dist")

    monkeypatch.setattr(pipeline, "write_metadata", full_disk)
    code, _, err = khc("build", root=project, capsys=capsys)
    assert code == 1 and "Traceback" not in err
    assert "nothing was written" not in err, err
    assert "written before the error, and kept" in err and "corpus/folds.csv: the folds of 1 new article" in err
    assert (project / "corpus" / "folds.csv").read_text(encoding="utf-8") != folds_before
    assert everything(project / "dist") == dist_before  # the earlier build is untouched


def test_a_record_that_cannot_be_written_is_named_not_the_output(project, tmp_path, monkeypatch, capsys):
    """A full disk while the build appends a new article's fold: the error names corpus/folds.csv
    (left as it was) and what to do, not the output folder."""
    from builders.build import pipeline

    ingest_a_new_article(project, tmp_path)
    folds_before = (project / "corpus" / "folds.csv").read_bytes()

    monkeypatch.setattr(pipeline, "append_folds", full_disk)
    code, _, err = khc("build", root=project, capsys=capsys)
    assert code == 1 and "Traceback" not in err
    assert "corpus/folds.csv" in err and "No space left on device" in err, err
    assert "could not write the output" not in err, err
    assert (project / "corpus" / "folds.csv").read_bytes() == folds_before
