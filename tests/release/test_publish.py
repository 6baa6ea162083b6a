"""`khc publish` short of the Hub: no token, no network or offline mode each end in one
`khc: error:` line saying what to do (run as a user would, against an unreachable endpoint,
never the real Hub); `--dry-run` lists exactly the files upload_folder would send and says
plainly when the project has no Hub repo id yet."""

from __future__ import annotations

import pytest

from builders.release.publish import upload_files
from tests.conftest import khc, khc_process

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused


@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """No token anywhere huggingface_hub looks (a fresh HF_HOME) and an endpoint nobody answers."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)


def one_error(result) -> str:
    """The stderr of a failed run: one `khc: error:` line, no traceback, a 'what to do'."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert [x for x in lines if x.startswith("khc: error:")] == [lines[0]], result.stderr
    assert "Traceback" not in result.stderr and "what to do:" in result.stderr, result.stderr
    return result.stderr


def test_publish_without_a_token_says_how_to_give_one(released, offline_hub):
    err = one_error(khc_process("publish", "0.1.0", "--repo-id", "someone/khc-test", cwd=released))
    assert "no Hugging Face token" in err and "HF_TOKEN" in err and "hf auth login" in err


def test_publish_without_network_names_the_endpoint_and_what_was_not_done(released, offline_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    err = one_error(khc_process("publish", "0.1.0", "--repo-id", "someone/khc-test", cwd=released))
    assert f"the Hugging Face Hub at {UNREACHABLE} could not be reached" in err
    assert "nothing was uploaded" in err and "check the network connection" in err
    assert "hf_not_a_real_token" not in err


def test_publish_in_offline_mode_says_which_setting(released, offline_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    err = one_error(khc_process("publish", "0.1.0", "--repo-id", "someone/khc-test", cwd=released))
    assert "HF_HUB_OFFLINE" in err


def test_publish_refuses_a_malformed_repo_id(released, offline_hub):
    err = one_error(khc_process("publish", "0.1.0", "--repo-id", "not a/repo/id", cwd=released))
    assert "not a/repo/id" in err and "OWNER/NAME" in err


def test_dry_run_lists_exactly_the_upload_and_says_there_is_no_repo_yet(released, capsys):
    code, out, err = khc("publish", "0.1.0", "--dry-run", root=released, capsys=capsys)
    assert code == 0, err
    assert "khc.toml sets no repo_id" in out and "would refuse" in out and "--repo-id" in out
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    files = sorted(p.relative_to(released / "dist").as_posix() for p in (released / "dist").rglob("*") if p.is_file())
    assert listed == files == [path for path, _size, _sha in upload_files(released / "dist")]
    assert f"{len(files)} files" in out and "tag v0.1.0" in out
    code, out, _ = khc("publish", "0.1.0", "--dry-run", "--repo-id", "someone/khc", root=released, capsys=capsys)
    assert code == 0 and "https://huggingface.co/datasets/someone/khc" in out and "no repo_id" not in out


def test_upload_files_leave_out_what_upload_folder_ignores(tmp_path):
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "train.parquet").write_bytes(b"x")
    (tmp_path / ".cache" / "huggingface").mkdir(parents=True)
    (tmp_path / ".cache" / "huggingface" / "download.lock").write_bytes(b"")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert [p for p, _, _ in upload_files(tmp_path)] == ["claims/train.parquet"]
