"""The real `khc` command, as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from datasets import load_dataset

from tests.conftest import REPO, khc_process, tree_digest


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["build"],
        ["release"],
        ["verify"],
        ["publish"],
        ["ingest"],
        ["schema"],
        ["preannotate"],
        ["agreement"],
        ["ls"],
        ["ls", "config"],
        ["ls", "push"],
        ["ls", "pull"],
        ["ls", "import"],
        ["ls", "serve"],
    ],
)
def test_every_command_explains_itself(args, tmp_path):
    result = khc_process(*args, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: khc" in result.stdout and len(result.stdout.splitlines()) > 4


def test_python_dash_m_runs_the_same_cli(tmp_path):
    # `khc verify` rebuilds a release with `python -m builders.cli`.
    result = subprocess.run(
        [sys.executable, "-m", "builders.cli", "--version"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.startswith("khc ")


def test_starting_a_build_does_not_import_the_model_libraries():
    # scikit-learn and scipy.stats took over a second of every `khc build`'s start-up, for the
    # default of `--seed` in `khc model --help`; the build itself never needs them.
    code = (
        "import sys; from builders.cli import parser; parser(); import builders.build.pipeline; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'blingfire', 'pysbd', 'skops'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_command_sits_in_its_area_module():
    from builders.cli import COMMANDS, parser

    areas = {add.__module__ for add in COMMANDS}
    assert areas == {f"builders.cli.{a}" for a in ("data", "releases", "labelstudio")} | {"builders.model.cli"}
    top = parser()
    (commands,) = (a for a in top._actions if a.dest == "command")
    for name, sub in commands.choices.items():
        run = sub.get_default("func")
        assert run.__module__.startswith(("builders.cli.", "builders.model.cli")), name


def test_build_end_to_end_with_the_real_cli(project_dir):
    result = khc_process("build", cwd=project_dir / "annotations")  # found from a subfolder
    assert result.returncode == 0, result.stderr
    assert "claims/train-00000-of-00001.parquet: 10 rows" in result.stdout
    assert "cancelled_annotations: 1" in result.stdout
    ds = load_dataset(str(project_dir / "dist"), "claims")
    assert sum(len(ds[s]) for s in ds) == 15


def test_error_exit_code_and_message_on_stderr(project_dir):
    (project_dir / "annotations" / "exports" / "project-8-20261103T000000.json").write_text("[]")
    before = tree_digest(project_dir / "dist")
    result = khc_process("build", cwd=project_dir)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "khc: error:" in result.stderr and "project-8-20261103T000000.json" in result.stderr
    assert tree_digest(project_dir / "dist") == before


def test_serve_binds_label_studio_to_loopback_with_data_outside_the_repo(tmp_path, monkeypatch, capsys):
    import subprocess

    from tests.conftest import khc

    started = []
    monkeypatch.setattr(subprocess, "call", lambda command: started.append(command) or 0)
    code, out, _ = khc(
        "--root", str(REPO), "ls", "serve", "--port", "8099", "--data-dir", str(tmp_path / "ls"), capsys=capsys
    )
    assert code == 0 and "http://127.0.0.1:8099" in out
    (command,) = started
    assert command[1:3] == ["start", "--no-browser"]
    assert command[command.index("--internal-host") + 1] == "127.0.0.1"
    assert command[command.index("--data-dir") + 1] == str(tmp_path / "ls")
