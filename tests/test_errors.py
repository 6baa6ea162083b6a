"""Every error that reaches a user is one `khc: error:` message naming the file or address and
what to do, never a traceback (issue 12, section 6), each run as a user runs it: the real
`khc` command in its own process, with real pipes, file systems and sockets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from builders.errors import KhcError, Problem, explain, partly_done
from tests.conftest import copy_project, khc, tree_digest
from tests.fake_server import closed_port, fake_server
from tests.release import conftest as release_fixtures

repo, released = release_fixtures.repo, release_fixtures.released  # the fixtures: a release in a git repository
KHC = str(Path(sys.executable).with_name("khc"))


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([KHC, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **env})


def one_error(result: subprocess.CompletedProcess) -> str:
    """The single `khc: error:` message of a failed run (and its what-to-do lines)."""
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert sum(line.startswith("khc: error:") for line in lines) == 1, result.stderr
    message = result.stderr[result.stderr.index("khc: error:") :]
    assert "what to do:" in message, message
    return message


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path / "project")


def mount_tmpfs(folder: Path, options: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def mounts():
    """Mount tmpfs file systems for a test (root only), unmounted after it."""
    mounted: list[Path] = []

    def mount(folder: Path, options: str) -> None:
        if os.geteuid() != 0 or not mount_tmpfs(folder, options):
            pytest.skip("needs root and permission to mount a tmpfs")
        mounted.append(folder)

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_out_below_a_regular_file(project):
    (project / "notes.txt").write_text("mine\n")
    message = one_error(run("build", "--out", str(project / "notes.txt" / "dist"), cwd=project))
    assert "notes.txt" in message
    assert (project / "notes.txt").read_text() == "mine\n"


def test_out_on_a_read_only_file_system(project, tmp_path, mounts):
    folder = tmp_path / "read-only"
    mounts(folder, "ro,size=1m")
    with pytest.raises(OSError, match="Read-only file system"):  # really read-only, even for root
        (folder / "probe").touch()
    message = one_error(run("build", "--out", str(folder / "dist"), cwd=project))
    assert str(folder) in message
    assert list(folder.iterdir()) == []


def test_out_on_a_full_file_system_keeps_the_previous_output(project, tmp_path, mounts):
    folder = tmp_path / "small-disk"
    mounts(folder, "size=50m")
    out = folder / "dist"
    assert run("build", "--out", str(out), cwd=project).returncode == 0
    used = os.statvfs(folder)
    used_kib = (used.f_blocks - used.f_bfree) * used.f_frsize // 1024
    subprocess.run(["mount", "-o", f"remount,size={used_kib * 3 // 2}k", str(folder)], check=True)
    before = tree_digest(out)
    message = one_error(run("build", "--out", str(out), cwd=project))
    assert str(folder) in message and ("disk is full" in message or "free some space" in message)
    assert tree_digest(out) == before  # the previous output is intact


def test_malformed_label_studio_address(project):
    env = {"LABEL_STUDIO_URL": "http://[::1", "LABEL_STUDIO_API_KEY": "k" * 20}
    result = run("ls", "pull", "--project-id", "1", cwd=project, **env)
    message = one_error(result)
    assert "http://[::1" in message and "LABEL_STUDIO_URL" in message


def test_pull_from_a_server_answering_a_json_object(project, tmp_path):
    def answer(method, path, headers):
        return 200, {"detail": "this is not Label Studio"}  # to every request, the export included

    with fake_server(answer) as url:
        result = run(
            "ls", "pull", "--project-id", "7", cwd=project,
            LABEL_STUDIO_URL=url, LABEL_STUDIO_API_KEY="t" * 20, KHC_PSEUDONYM_MAP=str(tmp_path / "map.json"),
        )  # fmt: skip
    message = one_error(result)
    assert url in message and "not what Label Studio answers" in message
    assert sorted(p.name for p in (project / "annotations" / "exports").iterdir()) == sorted(
        p.name for p in (copy_project(tmp_path / "fresh") / "annotations" / "exports").iterdir()
    )


def ingest_source(tmp_path: Path) -> Path:
    text = "".join(f"Line {i}: ketamine clinics describe their treatment plans.\n" for i in range(40))
    path = tmp_path / "article.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_ingest_into_a_closed_pipe_exits_quietly(project, tmp_path):
    # The reader is gone before khc writes a byte: its first print meets a broken pipe.
    proc = subprocess.Popen(
        [KHC, "ingest", str(ingest_source(tmp_path))], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 1
    assert stderr == ""  # no traceback, no "Exception ignored" at exit
    assert "article.txt" in (project / "corpus" / "articles.jsonl").read_text()  # the ingest itself was done


def test_ingest_piped_into_head(project, tmp_path):
    source = ingest_source(tmp_path)
    shell = f"{KHC} ingest {source} 2>{tmp_path / 'err'} | head -1"
    result = subprocess.run(["bash", "-c", shell], cwd=project, capture_output=True, text=True, timeout=300)
    assert result.stdout.startswith("added khc-")
    assert "Traceback" not in (tmp_path / "err").read_text() and "Error" not in (tmp_path / "err").read_text()


def test_publish_without_network(released, tmp_path):
    hub = f"http://127.0.0.1:{closed_port()}"
    result = run(
        "publish", "0.1.0", "--repo-id", "org/khc", cwd=released,
        HF_ENDPOINT=hub, HF_TOKEN="hf_" + "x" * 30, HF_HOME=str(tmp_path / "hf"),
    )  # fmt: skip
    message = one_error(result)
    assert hub in message and "could not be reached" in message and "nothing was uploaded" in message
    assert "hf_xxx" not in message


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(project, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("builders.corpus.ingest.ingest", broken)
    code, out, err = khc("ingest", "x.txt", root=project, capsys=capsys)
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.splitlines() == [
        "khc: error: internal error: RuntimeError: boom",
        "    what to do: run again with --debug and report it",
    ]
    code, _, err = khc("--debug", "ingest", "x.txt", root=project, capsys=capsys)
    assert code == 1 and "Traceback" in err and 'raise RuntimeError("boom")' in err
    assert err.rstrip().endswith("what to do: run again with --debug and report it")


def test_interrupt_is_one_line_and_exit_130(project, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("builders.corpus.ingest.ingest", interrupted)
    code, _, err = khc("ingest", "x.txt", root=project, capsys=capsys)
    assert code == 130 and err == "khc: interrupted\n"


def test_a_broken_pipe_that_is_not_stdout_is_reported(project, capsys, monkeypatch):
    def helper_died(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("builders.corpus.ingest.ingest", helper_died)
    code, _, err = khc("ingest", "x.txt", root=project, capsys=capsys)
    assert code == 1 and err.startswith("khc: error: ")


def test_usage_errors_exit_2(project):
    result = run("build", "--no-such-option", cwd=project)
    assert result.returncode == 2 and "khc: error:" in result.stderr and "Traceback" not in result.stderr


def test_os_errors_name_the_path_and_what_to_do():
    message = explain(PermissionError(13, "Permission denied", "/srv/data/dist"))
    assert message.startswith("khc: error: /srv/data/dist: Permission denied\n    what to do: ")
    assert "permissions" in message
    assert "→ /b" in explain(OSError(18, "Invalid cross-device link", "/a", None, "/b"))


def test_messages_never_show_secrets(monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "secret-token-123456")
    message = explain(RuntimeError("GET http://me:pw@host/api with secret-token-123456"))
    assert "secret-token" not in message and "pw@" not in message


def test_an_error_after_a_write_lists_what_was_written_and_what_to_do_next():
    written: list[str] = []
    with pytest.raises(KhcError) as nothing_yet, partly_done(written, "unused"):
        raise KhcError(Problem("refused", "khc.toml", fix="fix it"))
    assert explain(nothing_yet.value).endswith("\nnothing was written.")
    written.append("releases/1.0.0.json: the release record")
    with pytest.raises(KhcError) as caught, partly_done(written, lambda: f"commit {written[0].split(':')[0]}"):
        raise OSError(28, "No space left on device", "CHANGELOG.md")
    text = explain(caught.value)
    assert "CHANGELOG.md: No space left on device" in text and "nothing was written" not in text
    assert "written before the error, and kept:\n  - releases/1.0.0.json: the release record" in text
    assert text.endswith("what to do next: commit releases/1.0.0.json")
