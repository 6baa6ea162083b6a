"""Near-duplicate twins share a fold (decisions.md "Folds"): a twin takes its group's recorded
fold, a new group goes where a single article would, and recorded folds that split a group of
twins are an error naming the articles, never a silent move."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from builders.corpus.folds import choose_folds, read_fold_file, twin_groups
from builders.corpus.splits import read_split_file
from builders.errors import KhcError
from tests.conftest import khc, tree_digest
from tests.corpus.test_neardup import VARIANTS, seed_text


def test_twin_groups_join_pairs_transitively_and_key_by_the_smallest_id():
    pairs = [("b", "c", 0.9), ("a", "b", 0.8), ("x", "y", 0.7)]
    assert twin_groups(pairs) == {"a": "a", "b": "a", "c": "a", "x": "x", "y": "x"}
    assert twin_groups(list(reversed(pairs))) == twin_groups(pairs)


def test_two_new_twins_that_would_land_apart_share_a_fold():
    splits = {"khc-000001": "train", "khc-000002": "train"}
    apart = choose_folds({}, splits, "s")
    assert apart["khc-000001"] != apart["khc-000002"]  # the fewest-articles rule alone spreads them
    together = choose_folds({}, splits, "s", twins=[("khc-000001", "khc-000002", 0.9)])
    assert together["khc-000001"] == together["khc-000002"]
    reordered = dict(reversed(list(splits.items())))
    assert choose_folds({}, reordered, "s", twins=[("khc-000002", "khc-000001", 0.9)]) == together


def test_recorded_folds_that_split_twins_are_refused_naming_both():
    splits = {"khc-000001": "train", "khc-000002": "validation", "khc-000003": "train"}
    recorded = {"khc-000001": 0, "khc-000002": 1}
    with pytest.raises(KhcError) as caught:
        choose_folds(recorded, splits, "s", twins=[("khc-000001", "khc-000002", 0.9)], shown="corpus/folds.csv")
    text = str(caught.value)
    assert "khc-000001 (fold 0)" in text and "khc-000002 (fold 1)" in text and "corpus/folds.csv" in text


def twin_project(project_dir, capsys, twin_of: str) -> str:
    copy = project_dir / "twin.txt"
    copy.write_text(VARIANTS["a sentence dropped"](seed_text(twin_of)), encoding="utf-8")
    code, _, err = khc(
        "ingest", str(copy), "--allow-near-duplicate", "a syndicated copy", root=project_dir, capsys=capsys
    )
    assert code == 0, err
    splits = read_split_file(project_dir / "corpus" / "splits.csv", "splits.csv")
    return max(splits)  # the new article's id


def test_a_build_puts_an_ingested_twin_into_its_articles_recorded_fold(project_dir, capsys):
    fold_file = project_dir / "corpus" / "folds.csv"
    recorded = read_fold_file(fold_file, "folds.csv")
    original = sorted(recorded)[0]
    twin = twin_project(project_dir, capsys, original)
    splits = read_split_file(project_dir / "corpus" / "splits.csv", "splits.csv")
    assert splits[twin] == splits[original]
    alone = choose_folds(recorded, {twin: splits[twin]}, "khc-splits-v1")[twin]
    assert alone != recorded[original]  # without grouping, the twin would land in another fold
    before = fold_file.read_text()
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 0, err
    after = read_fold_file(fold_file, "folds.csv")
    assert after[twin] == recorded[original]
    assert fold_file.read_text().startswith(before)  # recorded lines stay as they were


def test_a_build_refuses_recorded_folds_that_split_twins(project_dir, capsys):
    fold_file = project_dir / "corpus" / "folds.csv"
    recorded = read_fold_file(fold_file, "folds.csv")
    original = sorted(recorded)[0]
    twin = twin_project(project_dir, capsys, original)
    other = next(k for k in range(5) if k != recorded[original])
    with fold_file.open("a") as handle:
        handle.write(f"{twin},{other}\n")
    before = fold_file.read_bytes()
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and not (project_dir / "dist").exists()
    assert f"{original} (fold {recorded[original]})" in err and f"{twin} (fold {other})" in err
    assert "corpus/folds.csv" in err and fold_file.read_bytes() == before


def prose(seed: int, lines: int = 4) -> str:
    """Lines of made-up prose no other text shares a word 5-gram with."""
    rng = random.Random(seed)
    words = [f"{w}{seed}" for w in ("clinic", "dose", "mood", "trial", "patient", "doctor", "week", "relief")]
    words += ["ketamine", "the", "and", "after", "with", "felt", "better", "infusion", "hours", "a"]
    return "\n".join(" ".join(rng.choice(words) for _ in range(40)) + "." for _ in range(lines)) + "\n"


def twins_apart(project_dir, tmp_path, capsys, placed: dict[str, tuple[str, int | None]]) -> tuple[Path, dict]:
    """Ingest A = P+Q and B = Q+R (not twins of each other), record their splits and folds as
    `placed` says ({"A": (split, fold)}), and return a file P+Q+R, a twin of both."""
    p, q, r = prose(1), prose(2), prose(3)
    ids = {}
    for name, text in (("A", p + q), ("B", q + r)):
        source = tmp_path / f"{name}.txt"
        source.write_text(text, encoding="utf-8")
        assert khc("ingest", str(source), root=project_dir)[0] == 0
        ids[name] = max(read_split_file(project_dir / "corpus" / "splits.csv", "splits.csv"))
    split_file, fold_file = project_dir / "corpus" / "splits.csv", project_dir / "corpus" / "folds.csv"
    lines = [x for x in split_file.read_text().splitlines() if x.split(",")[0] not in ids.values()]
    split_file.write_text("\n".join([*lines, *(f"{ids[n]},{placed[n][0]}" for n in ids)]) + "\n")
    with fold_file.open("a") as handle:
        handle.writelines(f"{ids[n]},{placed[n][1]}\n" for n in ids if placed[n][1] is not None)
    both = tmp_path / "both.txt"
    both.write_text(p + q + r, encoding="utf-8")
    return both, ids


@pytest.mark.parametrize(
    ("placed", "named"),
    [
        ({"A": ("train", 0), "B": ("train", 1)}, "different folds"),
        ({"A": ("train", 0), "B": ("validation", 1)}, "different splits"),
        ({"A": ("train", 2), "B": ("test", None)}, "different splits"),
    ],
)
def test_ingest_refuses_a_twin_of_articles_in_different_folds_or_splits(project_dir, tmp_path, capsys, placed, named):
    both, ids = twins_apart(project_dir, tmp_path, capsys, placed)
    before = tree_digest(project_dir / "corpus")
    code, _, err = khc("ingest", str(both), "--allow-near-duplicate", "a merged copy", root=project_dir, capsys=capsys)
    assert code == 1 and named in err and str(both) in err
    assert ids["A"] in err and ids["B"] in err and "what to do:" in err
    assert tree_digest(project_dir / "corpus") == before
    assert khc("build", root=project_dir, capsys=capsys)[0] == 0  # the corpus is left as it was: it still builds
