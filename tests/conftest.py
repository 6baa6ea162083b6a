"""Shared test helpers: throwaway copies of the project, and running the real CLI."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builders.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
# Enough prose after a test's own sentence for `khc ingest` to take it as an article (MIN_PROSE_WORDS).
ARTICLE_PROSE = (
    "The clinic gives infusions over forty minutes under the supervision of a doctor who watches blood "
    "pressure and breathing. Most people feel detached for an hour and some feel sick. The effect on mood "
    "can last a week, and the treatment is then repeated.\n"
)
PROJECT_FILES = ["khc.toml", "datacard.md", "corpus", "annotations/guidelines.md", "annotations/labeling_config.xml"]


def copy_project(dest: Path, *, with_fixture_labels: bool = True) -> Path:
    """A copy of this project's corpus and settings; with the fixture exports if asked."""
    for rel in PROJECT_FILES:
        src, dst = REPO / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)
    if with_fixture_labels:
        shutil.copytree(FIXTURES / "exports", dest / "annotations" / "exports")
        shutil.copytree(FIXTURES / "predictions", dest / "annotations" / "predictions")
        declare(dest, projects=[FIXTURE_PROJECT], model_version=FIXTURE_MODEL)
    return dest


FIXTURE_PROJECT, FIXTURE_MODEL = 7, "fixture-model-v1"


def declare(root: Path, *, projects: list[int] | None = None, model_version: str | list[str] | None = None) -> None:
    """Set `[labelstudio]` projects / model_version in a project's khc.toml."""
    settings = root / "khc.toml"
    text = settings.read_text(encoding="utf-8")
    if projects is not None:
        text = re.sub(r"(?m)^projects = .*$", f"projects = {projects}", text)
    if model_version is not None:
        declared = json.dumps(model_version)  # a TOML string or array of strings reads the same
        text = re.sub(r"(?m)^model_version = .*$", lambda _m: f"model_version = {declared}", text)
    settings.write_text(text, encoding="utf-8")


@pytest.fixture(autouse=True)
def own_datasets_cache(tmp_path_factory, monkeypatch) -> None:
    """Each test loads built folders through a cache of its own: `datasets` keys a local folder's
    cache on its card's YAML only, so two tests' builds with equal counts would read each other's rows."""
    import datasets.config

    cache = tmp_path_factory.mktemp("hf-datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))  # for the khc processes a test starts


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def khc(*args: str, root: Path | None = None, capsys=None) -> tuple[int, str, str]:
    """Run khc in-process; returns (exit code, stdout, stderr)."""
    argv = (["--root", str(root)] if root else []) + list(args)
    code = main(argv)
    if capsys is None:
        return code, "", ""
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def khc_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the installed `khc` console command as a user would."""
    exe = Path(sys.executable).with_name("khc")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file below `folder`, by relative path."""
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def load_export(path: Path) -> list:
    return json.loads(path.read_text(encoding="utf-8"))


def save_export(path: Path, tasks: list) -> None:
    path.write_text(json.dumps(tasks, indent=1, ensure_ascii=False), encoding="utf-8")


def record(root: Path, name: str, *, project: int = FIXTURE_PROJECT, exported_at: str, coverage: str = "full") -> None:
    """Record annotations/exports/NAME in the snapshot index, as `khc ls pull` / `khc ls import` do."""
    from builders.build.snapshots import record_snapshot
    from builders.project import load_project

    record_snapshot(load_project(root), root / "annotations" / "exports" / name, project, coverage, exported_at)


NEW_SNAPSHOT = "annotations/exports/project-7-20261101T120000.json"
