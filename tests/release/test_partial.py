"""A release or publish that fails after it wrote something says exactly what it wrote and
what to do next, never "nothing was written" (errors.partly_done)."""

from __future__ import annotations

import json
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
