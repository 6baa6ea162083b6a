"""Fixtures of the release tests: a git repository holding the project and its code, and the
same repository after `khc release 0.1.0` (committed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_project, khc


def run_git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A git repository holding the project and its code, as a clone would."""
    for key, value in {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_AUTHOR_DATE": "2026-11-20T12:00:00Z",
        "GIT_COMMITTER_DATE": "2026-11-20T12:00:00Z",
    }.items():
        monkeypatch.setenv(key, value)
    root = copy_project(tmp_path / "repo", with_fixture_labels=False)
    shutil.copytree(REPO / "annotations" / "predictions", root / "annotations" / "predictions")
    shutil.copytree(REPO / "builders", root / "builders", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(REPO / "CHANGELOG.md", root / "CHANGELOG.md")
    shutil.copyfile(REPO / ".gitignore", root / ".gitignore")
    run_git(root, "init", "-q")
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", "data")
    return root


@pytest.fixture
def released(repo, capsys) -> Path:
    code, out, err = khc("release", "0.1.0", root=repo, capsys=capsys)
    assert code == 0, err
    assert "git tag -a v0.1.0" in out
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "Release v0.1.0")
    return repo
