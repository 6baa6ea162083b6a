"""The fitted TF-IDF vectorisers applied to a batch of texts faster, with the same matrices.

scikit-learn's `CountVectorizer` counts a text's words and word pairs one at a time in Python
(a dictionary look-up and update per n-gram): most of prediction's time. For the vectorisers
the baseline fits (features.py: lowercase words of two or more word characters, 1–2-grams,
nothing else configured) `word_counts` does the same counting over the whole batch: one
`findall` per text (kept for the next vectoriser: claims are candidates' texts), the pairs
joined in one pass, one vocabulary look-up per n-gram, and the
(text, column) counts taken by numpy. The count matrix is then weighted by the vectoriser's
own fitted `TfidfTransformer`, so the result is the matrix `transform` gives (tests/model
compares them). A vectoriser configured any other way is left to scikit-learn.

`fast_words(transformer)` lends a fitted `ColumnTransformer` (or a Pipeline's first step)
these counts while it transforms; everything else (cue columns, one-hot kinds, stacking)
stays scikit-learn's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise, repeat

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

_DEFAULTS = {
    "input": "content",
    "decode_error": "strict",
    "strip_accents": None,
    "lowercase": True,
    "preprocessor": None,
    "tokenizer": None,
    "analyzer": "word",
    "stop_words": None,
    "token_pattern": r"(?u)\b\w\w+\b",
    "ngram_range": (1, 2),
    "binary": False,
}


def plain(vectorizer) -> bool:
    """Whether `vectorizer` is a fitted TfidfVectorizer configured as features.py fits them."""
    if type(vectorizer) is not TfidfVectorizer or not hasattr(vectorizer, "vocabulary_"):
        return False
    params = vectorizer.get_params()
    return all(params.get(k) == v for k, v in _DEFAULTS.items()) and hasattr(vectorizer, "_tfidf")


def word_counts(vectorizer: TfidfVectorizer, texts) -> object:
    """The count matrix `CountVectorizer.transform(texts)` builds (same type, dtype, order)."""
    vocabulary = vectorizer.vocabulary_
    features: list[str] = []
    sizes = []
    for text in texts:
        found = _FEATURES.get(text)
        if found is None:
            found = _features(text)
        features += found
        sizes.append(len(found))
    column = np.fromiter(map(vocabulary.get, features, repeat(-1)), dtype=np.int64, count=len(features))
    row = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    known = column >= 0
    keys, counts = np.unique(row[known] * len(vocabulary) + column[known], return_counts=True)
    indptr = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // len(vocabulary), minlength=len(sizes)) if len(keys) else 0, out=indptr[1:])
    index_type = np.int32 if len(keys) <= np.iinfo(np.int32).max else np.int64
    empty = vectorizer._count_vocab([], fixed_vocab=True)[1]  # the sparse type scikit-learn makes
    matrix = type(empty)(
        (counts.astype(np.intc), (keys % len(vocabulary)).astype(index_type), indptr.astype(index_type)),
        shape=(len(sizes), len(vocabulary)),
        dtype=vectorizer.dtype,
    )
    matrix.sort_indices()
    return matrix


_TOKEN = re.compile(_DEFAULTS["token_pattern"])
CACHED_TEXTS = 10_000  # about a worker's part: a claim's text is a candidate's, counted just before
_FEATURES: dict[str, list[str]] = {}


def _features(text: str) -> list[str]:
    """The 1- and 2-grams of `text` as a plain vectoriser's analyzer makes them (the counts do not
    depend on their order), kept for the `CACHED_TEXTS` texts seen last."""
    tokens = _TOKEN.findall(text.lower())
    found = tokens + [f"{a} {b}" for a, b in pairwise(tokens)]
    if len(_FEATURES) >= CACHED_TEXTS:
        del _FEATURES[next(iter(_FEATURES))]  # the oldest
    _FEATURES[text] = found
    return found


class _Counted:
    """Stands in for a plain fitted TfidfVectorizer inside a ColumnTransformer's `transform`."""

    def __init__(self, vectorizer: TfidfVectorizer):
        self.vectorizer = vectorizer

    def transform(self, texts, **_params):
        return self.vectorizer._tfidf.transform(word_counts(self.vectorizer, texts), copy=False)


@contextmanager
def fast_words(transformer) -> Iterator[None]:
    """While inside, the plain TfidfVectorizers of the fitted ColumnTransformer `transformer`
    count with `word_counts`; the fitted transformer is the same object before and after."""
    saved = transformer.transformers_
    transformer.transformers_ = [
        (name, _Counted(part) if plain(part) else part, columns) for name, part, columns in saved
    ]
    try:
        yield
    finally:
        transformer.transformers_ = saved
