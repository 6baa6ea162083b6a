"""The build's helper process: results come back, and a helper that dies costs nothing but time."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builders.build.helper import Helper


def square(x: int) -> int:
    return x * x


def die_in_helper(x: int) -> int:
    if multiprocessing.parent_process() is not None:  # in the helper process only
        os._exit(3)
    return x + 1


def test_helper_runs_beside_and_falls_back_here_when_it_dies(capsys):
    with Helper(True) as helper:
        assert helper.pool is not None
        assert helper.run(square, 7)() == 49
        result = helper.run(die_in_helper, 1)
        assert result() == 2  # computed here instead
    assert "the helper process died" in capsys.readouterr().err


def test_disabled_helper_works_here():
    with Helper(False) as helper:
        assert helper.pool is None
        assert helper.run(square, 3)() == 9


PARENT = """
import sys, time
from builders.build.helper import Helper
with Helper(True) as helper:
    assert helper.run(abs, -1)() == 1  # the helper is up and working
    print(*[p.pid for p in helper.pool._processes.values()], flush=True)
    time.sleep(600)
"""


def alive(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table in /proc")
def test_the_helper_and_the_resource_tracker_end_when_the_parent_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        helper_pid = int(parent.stdout.readline())
        tracker_pid = resource_tracker_of(parent.pid)
        assert alive(helper_pid) and tracker_pid is not None and alive(tracker_pid)
    finally:
        parent.kill()  # SIGKILL: no cleanup runs in the parent
        parent.wait()
    deadline = time.monotonic() + 10
    while (alive(helper_pid) or alive(tracker_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(helper_pid), "the helper outlived its parent"
    assert not alive(tracker_pid), "the resource tracker outlived the build"


def resource_tracker_of(pid: int) -> int | None:
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"resource_tracker" in cmdline:
            return int(entry.name)
    return None


def test_warming_from_the_corpus_file_in_batches_stores_every_signature(tmp_path):
    """The helper reads the corpus file itself, a batch of articles at a time: every article's
    signature ends up in the cache (blank lines skipped, a last short batch included), the same
    as computing them all at once."""
    import json

    from builders.build.helper import warm_from_file
    from builders.corpus import neardup

    texts = [f"article {i} " + " ".join(f"word{i * j}" for j in range(12)) for i in range(5)]
    corpus = tmp_path / "articles.jsonl"
    lines = [json.dumps({"text_sha256": f"d{i}", "text": t}) for i, t in enumerate(texts)]
    corpus.write_text("\n".join([*lines[:2], "", *lines[2:]]) + "\n", encoding="utf-8")
    cache = tmp_path / "cache.npz"
    assert warm_from_file(cache, corpus, batch=2) == 5
    assert warm_from_file(cache, corpus, batch=2) == 0
    stored = neardup.SignatureCache.load(cache)
    assert list(stored.rows) == [f"d{i}" for i in range(5)]
    assert (stored.of(list(stored.rows), ["cached"] * 5) == neardup.signatures(texts)).all()
