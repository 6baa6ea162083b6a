"""Cross-validation folds of the baseline: the corpus's committed folds (decisions.md "Folds").

One policy for the dataset and its baseline: `corpus/folds.csv` (builders/corpus/folds.py,
recorded by the build and carried in its `fold` column) gives each train and validation
article one of 5 folds, never moved, near-duplicate twins in one fold; test articles have no
fold and take no part (the training data holds none either). From `LEAVE_ONE_OUT_BELOW`
labelled articles on, the cross-validation's folds are those recorded folds; below it each
article with a fold is a fold of its own (leave-one-article-out). The detection threshold's
inner hold-out (threshold.py) is drawn from the same folds, so twins stay together there too.
"""

from __future__ import annotations

import pandas as pd

LEAVE_ONE_OUT_BELOW = 10  # labelled articles; with fewer, each article is its own fold


def recorded_folds(articles: pd.DataFrame) -> dict[str, int]:
    """{article_id: fold} of the articles (article_id, fold) that have one: test articles, and any
    article the build gave no fold, are left out."""
    known = articles[articles["fold"].notna()]
    return {a: int(f) for a, f in zip(known["article_id"], known["fold"], strict=True)}


def cv_groups(articles: pd.DataFrame) -> tuple[str, dict[str, int]]:
    """(scheme, {article_id: fold}) for the articles (article_id, fold): leave-one-article-out
    below `LEAVE_ONE_OUT_BELOW` articles with a fold, their committed folds from there on."""
    folds = recorded_folds(articles)
    if len(folds) < LEAVE_ONE_OUT_BELOW:
        return "leave-one-article-out", {a: i for i, a in enumerate(sorted(folds))}
    return f"grouped {len(set(folds.values()))}-fold by article (the committed folds, corpus/folds.csv)", folds
