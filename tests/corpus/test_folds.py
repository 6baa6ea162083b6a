"""Fold assignment (builders/corpus/folds.py): deterministic, per article, train and validation
only, balanced, recorded once and never moved; and the build ships it as a `fold` column."""

from __future__ import annotations

import shutil
from collections import Counter

import pyarrow.parquet as pq
import pytest

from builders.corpus.folds import N_FOLDS, choose_folds, read_fold_file
from builders.corpus.splits import choose_splits, read_split_file
from builders.errors import KhcError
from builders.features import label_names
from builders.layout import CONFIGS, SPLITS, parquet_path
from tests.conftest import REPO, copy_project, khc

RATIOS = {"train": 0.6, "validation": 0.2, "test": 0.2}


def splits_of(n: int) -> dict[str, str]:
    return choose_splits({}, [f"khc-{i:06d}" for i in range(n)], "s", RATIOS)


def test_only_train_and_validation_articles_get_folds_and_folds_are_balanced():
    splits = splits_of(200)
    folds = choose_folds({}, splits, "s")
    assert set(folds) == {a for a, s in splits.items() if s != "test"}
    sizes = Counter(folds.values())
    assert set(sizes) == set(range(N_FOLDS))
    assert max(sizes.values()) - min(sizes.values()) <= 1


def test_assignment_is_deterministic_and_depends_on_the_seed():
    splits = splits_of(60)
    first = choose_folds({}, splits, "s")
    assert first == choose_folds({}, dict(reversed(list(splits.items()))), "s")
    assert first != choose_folds({}, splits, "other")


def test_recorded_folds_never_move_and_new_articles_fill_the_smallest_folds():
    splits = splits_of(40)
    recorded = choose_folds({}, dict(list(splits.items())[:20]), "s")
    new = choose_folds(recorded, splits, "s")
    assert not set(new) & set(recorded)
    sizes = Counter([*recorded.values(), *new.values()])
    assert max(sizes.values()) - min(sizes.values()) <= 1


def test_fold_file_errors_name_the_line(tmp_path):
    path = tmp_path / "folds.csv"
    path.write_text(f"article_id,fold\nkhc-000001,0\nkhc-000002,{N_FOLDS}\nkhc-000001,1\n")
    with pytest.raises(KhcError) as caught:
        read_fold_file(path, "corpus/folds.csv")
    text = str(caught.value)
    assert "corpus/folds.csv: line 3" in text and "corpus/folds.csv: line 4" in text and "listed twice" in text


def test_a_build_records_folds_once_and_ships_them_on_every_config(tmp_path):
    root = copy_project(tmp_path / "p")
    (root / "corpus" / "folds.csv").unlink(missing_ok=True)
    assert khc("build", root=root)[0] == 0
    recorded = read_fold_file(root / "corpus" / "folds.csv", "folds.csv")
    splits = read_split_file(root / "corpus" / "splits.csv", "splits.csv")
    assert recorded == choose_folds({}, splits, "khc-splits-v1")
    before = (root / "corpus" / "folds.csv").read_bytes()
    assert khc("build", root=root)[0] == 0
    assert (root / "corpus" / "folds.csv").read_bytes() == before  # nothing new: nothing moves
    for config in CONFIGS:
        for split in SPLITS:
            path = root / "dist" / parquet_path(config, split)
            if not path.exists():
                continue
            table = pq.read_table(path, columns=["article_id", "fold"])
            for article_id, fold in zip(*(table.column(c).to_pylist() for c in ("article_id", "fold")), strict=True):
                assert fold == recorded.get(article_id), (config, split, article_id)
                assert (fold is None) == (split == "test")


def test_a_fold_recorded_for_a_test_article_is_refused(tmp_path, capsys):
    root = copy_project(tmp_path / "p")
    splits = read_split_file(root / "corpus" / "splits.csv", "splits.csv")
    test_article = next(a for a, s in splits.items() if s == "test")
    with (root / "corpus" / "folds.csv").open("a") as handle:
        handle.write(f"{test_article},0\n")
    code, _, err = khc("build", root=root, capsys=capsys)
    assert code == 1 and "corpus/folds.csv" in err and test_article in err and "gets no fold" in err


@pytest.fixture(scope="module")
def committed_build(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("cardfolds") / "p", with_fixture_labels=False)
    shutil.copytree(REPO / "annotations" / "predictions", root / "annotations" / "predictions")
    assert khc("build", root=root)[0] == 0
    return root / "dist"


def rows_of(dist, config):
    return {
        s: pq.read_table(dist / parquet_path(config, s)).to_pylist()
        for s in SPLITS
        if (dist / parquet_path(config, s)).exists()
    }


def test_the_card_counts_labelled_articles_per_fold(committed_build):
    card = (committed_build / "README.md").read_text()
    articles = rows_of(committed_build, "articles")
    claims = Counter(r["fold"] for rows in rows_of(committed_build, "claims").values() for r in rows)
    for fold in range(N_FOLDS):
        per_split = [sum(1 for r in articles.get(s, []) if r["labeled"] and r["fold"] == fold) for s in SPLITS[:2]]
        assert f"| {fold} | {per_split[0]} | {per_split[1]} | {claims[fold]} |" in card
    assert 'filter(lambda r: r["fold"] != k)' in card


def test_the_card_names_the_classes_each_split_lacks_and_warns_on_small_splits(committed_build):
    card = (committed_build / "README.md").read_text()
    names = label_names("claims", "claim_type")
    for split, rows in rows_of(committed_build, "claims").items():
        absent = [n for n in names if n not in {names[r["claim_type"]] for r in rows if r["claim_type"] is not None}]
        line = next(x for x in card.splitlines() if x.startswith(f"- `{split}` "))
        if absent:
            assert "`claim_type`: " + ", ".join(f"`{v}`" for v in absent) in line
        else:
            assert "`claim_type`" not in line
    labelled = {s: sum(r["labeled"] for r in rows) for s, rows in rows_of(committed_build, "articles").items()}
    small = any(labelled.get(s, 0) < 10 for s in ("validation", "test"))
    assert ("too small to report scores on" in card) == small
