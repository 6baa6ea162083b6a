"""The fast word counts give scikit-learn's matrices; the forked map gives the in-process results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from builders.model.features import article_frame, text_features
from builders.model.forked import forked_map
from builders.model.train import candidate_tables
from builders.model.vectors import fast_words, plain, word_counts
from tests.model.test_candidates_folds import ARTICLES

ODD = ["", "   ", "a", "one", "Ünïcode wörds ARE lowered; x y z", "İstanbul ǅ ß — café", "word " * 50]


def _same(a, b) -> None:
    assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(a, part), getattr(b, part)), part
        assert getattr(a, part).dtype == getattr(b, part).dtype, part


def test_word_counts_are_countvectorizers_and_the_tfidf_matrix_is_the_same():
    articles = pd.DataFrame({"article_id": [a["article_id"] for a in ARTICLES], "text": [a["text"] for a in ARTICLES]})
    table, _ = candidate_tables(articles, parallel=False)
    fitted = text_features().fit(article_frame(articles["article_id"], articles["text"]))
    vectorizer = fitted.named_transformers_["words"]
    assert plain(vectorizer)
    texts = [*table["text"].tolist(), *ODD, *(a["text"] for a in ARTICLES)]
    counts = super(TfidfVectorizer, vectorizer).transform(texts)  # CountVectorizer's own counts
    _same(word_counts(vectorizer, texts), counts)
    frame = article_frame(range(len(texts)), texts)
    expected = fitted.transform(frame)
    with fast_words(fitted):
        _same(fitted.transform(frame), expected)
    assert type(fitted.named_transformers_["words"]) is TfidfVectorizer  # given back


def test_a_vectoriser_configured_otherwise_is_left_to_scikit_learn():
    assert not plain(TfidfVectorizer(ngram_range=(1, 3)).fit(["ab cd ef gh"]))
    assert not plain(TfidfVectorizer(lowercase=False).fit(["ab cd ef gh"]))
    assert not plain(TfidfVectorizer())  # not fitted


def _square_plus(item: int, shared: int) -> int:
    return item * item + shared


@pytest.mark.parametrize("parallel", [False, True])
def test_forked_map_keeps_order_and_reads_the_shared_object(parallel):
    assert list(forked_map(_square_plus, range(7), 100, parallel=parallel)) == [i * i + 100 for i in range(7)]
