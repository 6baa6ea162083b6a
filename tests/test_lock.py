"""One writer at a time (issue 12 §3): commands that write the project hold `.khc/lock`
(builders/lock.py); a second one waits, or refuses with a message naming the lock and the pid."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builders.corpus.folds import read_fold_file
from builders.corpus.splits import read_split_file
from builders.lock import project_lock
from builders.project import load_project
from tests.conftest import REPO, copy_project

KHC = Path(sys.executable).with_name("khc")
REFUSAL = "another khc command is writing this project"


def start(root: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(KHC), *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def split_ids(root: Path) -> list[str]:
    with (root / "corpus" / "splits.csv").open(newline="") as handle:
        return [row["article_id"] for row in csv.DictReader(handle)]


def corpus_ids(root: Path) -> list[str]:
    lines = (root / "corpus" / "articles.jsonl").read_text().splitlines()
    return [json.loads(line)["article_id"] for line in lines if line.strip()]


@pytest.mark.parametrize(("timeout", "rounds"), [("30", 3), ("0", 2)], ids=["waits", "refuses"])
def test_two_builds_at_once_record_a_new_article_once(tmp_path, timeout, rounds):
    for round_ in range(rounds):
        root = copy_project(tmp_path / f"round-{round_}")
        splits = root / "corpus" / "splits.csv"
        splits.write_text("".join(splits.read_text().splitlines(keepends=True)[:-1]))  # the last article: no split
        assert len(split_ids(root)) == len(corpus_ids(root)) - 1
        builds = [start(root, "build", KHC_LOCK_TIMEOUT=timeout) for _ in range(2)]
        results = [(b.communicate(timeout=300)[1], b.returncode) for b in builds]
        results = [(code, err) for err, code in results]
        for code, err in results:
            assert "Traceback" not in err and "OSError" not in err, err
            assert code == 0 or (code == 1 and REFUSAL in err and ".khc/lock" in err and "pid " in err), err
        assert any(code == 0 for code, _ in results)
        assert sorted(split_ids(root)) == sorted(corpus_ids(root))  # each article once
        assert not [p.name for p in root.iterdir() if p.name.startswith(".dist.")]
        # what the next build reads first, with its checks (no "listed twice", in splits or folds)
        project = load_project(root)
        assert sorted(read_split_file(project.split_file, "splits.csv")) == sorted(corpus_ids(root))
        assert set(read_fold_file(project.fold_file, "folds.csv")) <= set(corpus_ids(root))


def test_a_held_lock_makes_ingest_and_build_refuse_naming_the_holder(project_dir, tmp_path):
    article = tmp_path / "new.txt"
    article.write_text("Ketamine clinics promise fast relief.\n\nTalk to your doctor first.\n")
    corpus = (project_dir / "corpus" / "articles.jsonl").read_bytes()
    with project_lock(load_project(project_dir), "khc test"):
        commands = [("ingest", str(article), "--title", "New"), ("build",)]
        started = [start(project_dir, *args, KHC_LOCK_TIMEOUT="0.5") for args in commands]  # both at once
        for result in started:
            _out, err = result.communicate(timeout=120)
            assert result.returncode == 1, err
            assert REFUSAL in err and f"pid {os.getpid()} (khc test)" in err and ".khc/lock" in err, err
            assert "waited 0.5 s" in err and "Traceback" not in err
    assert (project_dir / "corpus" / "articles.jsonl").read_bytes() == corpus
    assert not (project_dir / "dist").exists()


def test_a_waiting_command_goes_on_when_the_holder_ends(project_dir):
    with project_lock(load_project(project_dir), "khc test"):
        build = start(project_dir, "build")
        waiting = build.stderr.readline()  # the first thing it says
    _out, err = build.communicate(timeout=300)
    assert build.returncode == 0, waiting + err
    assert f"waiting for .khc/lock: held by pid {os.getpid()} (khc test)" in waiting


def test_the_lock_is_re_entrant_and_ignored_by_git(project_dir):
    project = load_project(project_dir)
    with project_lock(project, "khc release"), project_lock(project, "khc build"):
        pass
    assert (project_dir / ".khc" / ".gitignore").read_text() == "*\n"
    subprocess.run(["git", "init", "-q"], cwd=project_dir, check=True)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project_dir, capture_output=True, text=True)
    assert ".khc" not in status.stdout
