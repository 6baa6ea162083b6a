"""A release or publish that fails after it wrote something says exactly what it wrote and
what to do next, never "nothing was written" (errors.partly_done)."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from builders.errors import KhcError, Problem, explain
from builders.project import load_project
from builders.release.publish import publish
from tests.conftest import ARTICLE_PROSE, khc
from tests.release.conftest import run_git


def test_a_release_refused_after_its_build_names_what_the_build_wrote(repo, tmp_path, capsys):
    article = tmp_path / "new.txt"
    article.write_text("Ketamine lifts depression within hours, a trial found.\n" + ARTICLE_PROSE, encoding="utf-8")
    assert khc("ingest", str(article), "--title", "New", root=repo)[0] == 0
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "a new article")
    code, _, err = khc("release", "0.1.0", root=repo, capsys=capsys)
    assert code == 1 and (repo / "dist" / "manifest.json").exists()
    assert "nothing was written" not in err
    assert "written before the error, and kept" in err and "dist/" in err and "corpus/folds.csv" in err


def test_a_release_whose_commit_fails_names_the_record_and_the_changelog(released, capsys):
    hook = released / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'refused by a hook' >&2\nexit 1\n")
    hook.chmod(0o755)
    code, _, err = khc("release", "0.2.0", "--tag", root=released, capsys=capsys)
    assert code == 1 and "refused by a hook" in err
    assert (released / "releases" / "0.2.0.json").exists()
    assert "nothing was written" not in err
    assert "releases/0.2.0.json" in err and "CHANGELOG.md" in err and "git tag -a v0.2.0" in err
    assert "v0.2.0" not in run_git(released, "tag")


def disk_fills(monkeypatch, name: str, after: int = 20) -> None:
    """Every file whose name holds `name`, opened to write, takes `after` characters, then the disk is full."""
    real = Path.open

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def __getattr__(self, attr):
            return getattr(self.handle, attr)

        def write(self, data):
            self.handle.write(data[:after])
            self.handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    def open_(self, mode="r", *args, **kwargs):
        handle = real(self, mode, *args, **kwargs)
        return Full(handle) if name in self.name and "w" in mode else handle

    monkeypatch.setattr(Path, "open", open_)


def test_a_disk_full_while_the_record_is_written_leaves_none_and_the_retry_works(released, capsys, monkeypatch):
    disk_fills(monkeypatch, "0.2.0.json")
    code, _, err = khc("release", "0.2.0", root=released, capsys=capsys)
    monkeypatch.undo()
    assert code == 1 and "No space left on device" in err and "dist/" in err
    assert "releases/0.2.0.json" not in err
    assert sorted(p.name for p in (released / "releases").iterdir()) == ["0.1.0.json"]  # no temporary file
    assert run_git(released, "status", "--porcelain") == ""
    assert khc("release", "0.2.0", root=released, capsys=capsys)[0] == 0


def test_a_disk_full_while_the_changelog_is_written_keeps_it_and_says_how_to_retry(released, capsys, monkeypatch):
    before = (released / "CHANGELOG.md").read_bytes()
    disk_fills(monkeypatch, "CHANGELOG.md")
    code, _, err = khc("release", "0.2.0", root=released, capsys=capsys)
    monkeypatch.undo()
    assert code == 1 and "No space left on device" in err
    assert (released / "CHANGELOG.md").read_bytes() == before
    kept = err.split("written before the error, and kept:")[1]
    assert "releases/0.2.0.json: the release record" in kept and "CHANGELOG.md" not in kept.split("what to do next")[0]
    assert run_git(released, "status", "--porcelain") == "?? releases/0.2.0.json\n"  # no temporary file
    step = kept.split("what to do next:")[1]
    assert "remove releases/0.2.0.json" in step and "khc release 0.2.0" in step
    (released / "releases" / "0.2.0.json").unlink()  # what the next step says
    code, _, err = khc("release", "0.2.0", root=released, capsys=capsys)
    assert code == 0, err
    assert "## 0.2.0" in (released / "CHANGELOG.md").read_text(encoding="utf-8")


class TagFails:
    """HfApi stand-in whose upload succeeds and whose tag is refused."""

    def create_repo(self, repo_id, **kwargs):
        return None

    def list_repo_refs(self, repo_id, **kwargs):
        return SimpleNamespace(tags=[])

    def upload_folder(self, **kwargs):
        return SimpleNamespace(oid="abc123def456")

    def create_tag(self, repo_id, **kwargs):
        raise KhcError(Problem("the Hugging Face Hub answered HTTP 500 when khc tagged the upload"))


def test_a_publish_whose_tag_fails_names_the_uploaded_commit(released):
    assert khc("verify", "0.1.0", "--out", str(released / "dist"), root=released)[0] == 0
    with pytest.raises(KhcError) as caught:
        publish(load_project(released), "0.1.0", "org/khc", released / "dist", api=TagFails())
    text = explain(caught.value)
    assert "nothing was written" not in text
    assert "org/khc" in text and "abc123def456" in text and "khc publish 0.1.0" in text
    assert json.loads((released / "releases" / "0.1.0.json").read_text())["version"] == "0.1.0"
