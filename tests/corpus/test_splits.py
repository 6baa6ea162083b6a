"""Split assignment: deterministic, per article, and recorded assignments never move."""

from __future__ import annotations

import pytest

from builders.corpus.splits import choose_splits, read_split_file
from builders.errors import KhcError

RATIOS = {"train": 0.6, "validation": 0.2, "test": 0.2}


def test_assignment_is_deterministic_and_independent_of_input_order():
    ids = [f"khc-{i:06d}" for i in range(1, 51)]
    first = choose_splits({}, ids, "seed", RATIOS)
    assert first == choose_splits({}, list(reversed(ids)), "seed", RATIOS)
    assert first != choose_splits({}, ids, "other-seed", RATIOS)


def test_small_corpora_get_every_split_and_large_ones_approach_the_ratios():
    five = list(choose_splits({}, ["a", "b", "c", "d", "e"], "s", RATIOS).values())
    assert sorted(five) == ["test", "train", "train", "train", "validation"]
    many = choose_splits({}, [f"a{i}" for i in range(1000)], "s", RATIOS)
    counts = {s: list(many.values()).count(s) for s in RATIOS}
    assert counts == {"train": 600, "validation": 200, "test": 200}


def test_recorded_articles_never_move_and_new_ones_fill_the_gaps():
    existing = {"a": "train", "b": "train", "c": "train"}
    new = choose_splits(existing, ["a", "b", "c", "d", "e"], "s", RATIOS)
    assert set(new) == {"d", "e"}  # a, b, c are not reassigned
    assert set(new.values()) == {"validation", "test"}


def test_split_file_errors_name_the_line(tmp_path):
    path = tmp_path / "splits.csv"
    path.write_text("article_id,split\nkhc-000001,train\nkhc-000002,dev\nkhc-000001,test\n")
    with pytest.raises(KhcError) as caught:
        read_split_file(path, "corpus/splits.csv")
    text = str(caught.value)
    assert "corpus/splits.csv: line 3" in text and "'dev'" in text
    assert "corpus/splits.csv: line 4: khc-000001 is listed twice" in text
