"""The build's helper process: results come back, and a helper that dies costs nothing but time."""

from __future__ import annotations

import multiprocessing
import os

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
