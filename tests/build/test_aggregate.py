"""Label decisions (rules in builders/build/aggregate.py)."""

from __future__ import annotations

from builders.build.aggregate import plurality


def test_plurality_and_ties():
    assert plurality(["x", "x", "y"]) == ("x", False)
    assert plurality(["x", "y", "z"]) == (None, True)
    assert plurality([None, "y"]) == ("y", False)
    assert plurality([None, None]) == (None, False)
