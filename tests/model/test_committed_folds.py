"""The baseline's cross-validation uses the corpus's committed folds (decisions.md "Folds"):
corpus/folds.csv as the build records it, test articles held out, twins together."""

from __future__ import annotations

import sys

import pandas as pd

from builders.corpus.folds import read_fold_file
from builders.model.data import load_training
from builders.model.folds import LEAVE_ONE_OUT_BELOW, cv_groups
from builders.project import load_project
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from generate import generate


def test_grouped_folds_are_the_committed_ones(tmp_path):
    root = tmp_path / "project"
    generate(24, 1, root)
    project = load_project(root)
    data = load_training(project)  # builds into a temporary folder: corpus/folds.csv is written
    recorded = read_fold_file(project.fold_file, "corpus/folds.csv")
    assert len(data.articles) >= LEAVE_ONE_OUT_BELOW
    scheme, folds = cv_groups(data.articles)
    assert "5-fold" in scheme
    assert folds == {a: recorded[a] for a in data.articles["article_id"]}
    assert len(set(folds.values())) > 1


def test_leave_one_out_takes_only_articles_with_a_fold():
    """Below 10 articles each article is its own fold, but a test article (no fold) is never one."""
    splits = dict(line.split(",") for line in (REPO / "corpus" / "splits.csv").read_text().split()[1:])
    recorded = read_fold_file(REPO / "corpus" / "folds.csv", "corpus/folds.csv")
    articles = pd.DataFrame({"article_id": sorted(splits)})
    articles["fold"] = pd.array(articles["article_id"].map(recorded), dtype="Int32")
    scheme, folds = cv_groups(articles)
    assert scheme == "leave-one-article-out"
    held_out = {a for a, split in splits.items() if split == "test"}
    assert held_out and not held_out & set(folds)
    assert set(folds) == set(recorded) and len(set(folds.values())) == len(recorded)
