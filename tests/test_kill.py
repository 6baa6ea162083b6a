"""Killed builds (issue 12 §2): a real `khc build` of a corpus large enough to start the
helper process is sent a real SIGKILL while reading, while writing and around the swap
(paused there by KHC_TEST_PAUSE, see builders/build/output.py). Then: the output folder
holds a complete output (the previous one, or the new one once swapped), the process table
holds nothing of the killed build, and the next build clears every hidden leftover."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from builders.build.helper import PARALLEL_MIN_ARTICLES
from builders.build.output import recover
from tests.conftest import REPO, tree_digest

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table in /proc")
KHC = Path(sys.executable).with_name("khc")
ARTICLES = PARALLEL_MIN_ARTICLES + 50


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated project (see benchmarks/generate.py) with its splits recorded and a build in dist/."""
    root = tmp_path_factory.mktemp("kill") / "project"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "generate.py"), "--articles", str(ARTICLES), "--out", str(root)],
        check=True,
        capture_output=True,
    )
    subprocess.run([str(KHC), "build"], cwd=root, check=True, capture_output=True, env=environment())
    return root


@pytest.fixture
def project(generated, tmp_path) -> Path:
    root = tmp_path / "project"
    subprocess.run(["cp", "-a", str(generated), str(root)], check=True)
    return root


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


class Build:
    """A `khc build` in its own session, its stderr lines collected as they come."""

    def __init__(self, root: Path, **env: str):
        self.process = subprocess.Popen(
            [str(KHC), "build"],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its session id marks every process it starts
            env=environment(**env),
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, f"the build ended before {text!r}:\n{''.join(self.lines)}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{''.join(self.lines)}"
            time.sleep(0.01)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()


def session(sid: int) -> list[str]:
    """The processes of session `sid` that have not ended (a zombie has ended: it holds no
    memory and waits only for its new parent to collect its exit status)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if entry.name.isdigit() and int(fields[3]) == sid and fields[0] != "Z":
            found.append(f"{entry.name} {cmdline[:120]}")
    return found


def nothing_left_of(build: Build, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while session(build.process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session(build.process.pid) == [], "processes of the killed build are still running"


def complete(folder: Path) -> bool:
    """Whether `folder` is a whole build: its manifest lists exactly its other files, and their hashes."""
    manifest = json.loads((folder / "manifest.json").read_text())
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    return set(files) == {*manifest["outputs"], "manifest.json"} and all(
        hashlib.sha256(files[rel].read_bytes()).hexdigest() == info["sha256"]
        for rel, info in manifest["outputs"].items()
    )


def hidden(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".dist."))


def next_build_clears_everything(root: Path) -> None:
    result = subprocess.run([str(KHC), "build"], cwd=root, capture_output=True, text=True, env=environment())
    assert result.returncode == 0, result.stderr
    assert complete(root / "dist") and hidden(root) == []


def test_killed_while_reading_leaves_no_helper_no_tracker_and_the_output(project):
    before = tree_digest(project / "dist")
    build = Build(project)
    build.wait_for("reading the Label Studio exports")
    deadline = time.monotonic() + 30
    while not any("spawn_main" in p for p in session(build.process.pid)):  # the helper is up
        assert time.monotonic() < deadline, session(build.process.pid)
        time.sleep(0.01)
    assert any("resource_tracker" in p for p in session(build.process.pid))
    build.kill()
    assert not any(line.startswith("khc: read ") for line in build.lines)  # killed before reading was done
    nothing_left_of(build)
    assert tree_digest(project / "dist") == before and hidden(project) == []
    next_build_clears_everything(project)


@pytest.mark.parametrize("point", ["staged", "written"])
def test_killed_while_writing_keeps_the_previous_output(project, point):
    before = tree_digest(project / "dist")
    build = Build(project, KHC_TEST_PAUSE=point)
    build.wait_for(f"paused at {point}")
    build.kill()
    nothing_left_of(build)
    assert tree_digest(project / "dist") == before
    assert [name.split("-")[0] for name in hidden(project)] == [".dist.building"]
    next_build_clears_everything(project)


def test_killed_after_the_exchange_leaves_the_new_output(project):
    before = tree_digest(project / "dist")
    build = Build(project, KHC_TEST_PAUSE="exchanged")
    build.wait_for("paused at exchanged")
    build.kill()
    nothing_left_of(build)
    assert complete(project / "dist")
    (stage,) = hidden(project)  # the previous output, under the staging name
    assert tree_digest(project / stage) == before
    next_build_clears_everything(project)


def test_killed_between_the_two_renames_restores_the_previous_output(project, tmp_path):
    """Where the exchange is missing, two renames leave a moment without dist/: the next
    start puts the previous output back before anything else."""
    before = tree_digest(project / "dist")
    build = Build(project, KHC_TEST_PAUSE="between-renames", KHC_TEST_NO_EXCHANGE="1")
    build.wait_for("paused at between-renames")
    build.kill()
    nothing_left_of(build)
    assert not (project / "dist").exists()
    assert f".dist.old-{build.process.pid}" in hidden(project)
    copy = tmp_path / "copy"  # the same leftovers, to see what the next start restores
    subprocess.run(["cp", "-a", str(project), str(copy)], check=True)
    recover(copy / "dist")  # what the next build does first
    assert tree_digest(copy / "dist") == before and hidden(copy) == []
    next_build_clears_everything(project)  # restores, then builds


def test_a_stage_of_an_older_build_is_removed_once_quiet_for_six_hours(tmp_path):
    """Builds before the pid was in the name (`.NAME.building-XXXXXXXX`, tempfile's 8 characters;
    `khc verify` of an old release still runs that code) leave stages no pid can judge: one is
    removed when nothing in it changed for more than 6 h, and one written to lately is kept."""
    dist = tmp_path / "dist"
    dist.mkdir()
    long_ago = time.time() - 6 * 3600 - 60
    quiet, busy, lately = (tmp_path / f".dist.building-{name}" for name in ("ab12cd_4", "zz99yy88", "q1w2e3r4"))
    for stage in (quiet, busy, lately):
        (stage / "claims").mkdir(parents=True)
        (stage / "claims" / "train.parquet").write_bytes(b"half")
    for path in (quiet / "claims" / "train.parquet", quiet / "claims", quiet, lately / "claims", lately):
        os.utime(path, (long_ago, long_ago))  # `lately`: only its file was written in the last 6 h
    recover(dist)
    assert hidden(tmp_path) == sorted([busy.name, lately.name])
    assert dist.is_dir()
