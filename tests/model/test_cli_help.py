"""The model commands explain themselves, like every other command."""

from __future__ import annotations

import pytest

from tests.conftest import khc_process


@pytest.mark.parametrize("args", [["model"], ["model", "train"], ["model", "evaluate"], ["preannotate"]])
def test_model_commands_explain_themselves(args, tmp_path):
    result = khc_process(*args, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: khc" in result.stdout and len(result.stdout.splitlines()) > 4
    if args == ["preannotate"]:
        assert "--model" in result.stdout and "ARTICLE_ID" in result.stdout


def test_model_without_a_subcommand_prints_usage(tmp_path):
    result = khc_process("model", cwd=tmp_path)
    assert result.returncode == 2 and "train" in result.stderr and "evaluate" in result.stderr
