"""Features of the baseline: word TF-IDF plus counts of cue patterns, and the pipelines.

The cues are inputs to a learned model, never rules that decide a label: citation shapes
(authors and year, DOI, link, trial registry id), numbers and percentages, study words,
regulators, testimony, advice to the reader, risk words and hedges. Each pattern is run
once over an article's whole text (`scan_cues`, kept by `cue_matches` for the texts used
last); a candidate, a claim or the article counts the matches that lie wholly inside its
range (`cue_rows`), so sentences, their clauses, claims and the article share one scan.
The counts are columns of the tables the pipelines read (`CUE_COLUMNS`), and every pipeline
is made of scikit-learn parts alone, so a saved model holds no other code (store.py refuses
any type skops does not trust by default).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from builders.model.candidates import KINDS

CUES: dict[str, str] = {
    "author_year": r"\b[A-Z][a-z]+ et al\.?|\b[A-Z][a-z]+ (?:and [A-Z][a-z]+ )?\(?(?:19|20)\d\d\)?",
    "year": r"\b(?:19|20)\d\d\b",
    "doi_link": r"\bdoi\b|10\.\d{4,}/|https?://|www\.",
    "registry": r"\bNCT\d{8}\b|\bISRCTN\d+|\bclinicaltrials\.gov",
    "number": r"\b\d+(?:[.,]\d+)?\b",
    "percent": r"\d\s?%|\bpercent\b",
    "study": r"\b(?:stud(?:y|ies)|trials?|research|researchers|scientists|evidence|meta-analys[ie]s)\b",
    "journal": r"\b(?:journal|published in|lancet|jama|nejm|psychiatry)\b",
    "vague": r"\b(?:research (?:suggests|shows)|studies (?:have )?(?:shown|suggest)|experts?|some studies)\b",
    "regulator": r"\b(?:FDA|EMA|approved|approval|off-label|unapproved|legal|schedule (?:I|II|III))\b",
    "testimony": r"\b(?:I|my|me|patients? (?:report|say|said)|testimonial|stor(?:y|ies))\b",
    "reader": r"\b(?:you|your|talk to|consult|ask your|consider)\b",
    "risk": r"\b(?:side effects?|risks?|adverse|nausea|dizziness|dissociat\w*|addict\w*|abuse|dependen\w*|misuse)\b",
    "contra": r"\b(?:not (?:appropriate|suitable|recommended)|should not|contraindicat\w*|history of)\b",
    "supervision": r"\b(?:supervis\w*|monitor\w*|trained|licensed|clinic(?:al)? setting|medical setting)\b",
    "hedge": r"\b(?:may|might|could|preliminary|limited|more research|unknown|not yet|further)\b",
    "long_term": r"\blong[- ]term\b",
    "comparison": r"\b(?:than|unlike|compared|faster|traditional|alternative)\b",
    "mechanism": r"\b(?:receptors?|glutamate|NMDA|neurotransmitters?|brain|synap\w*|neuro\w*)\b",
    "dose": r"\b(?:mg|dose|doses|dosage|infusions?|intravenous|nasal|sessions?|minutes|weeks)\b",
}
_CASED = {"author_year", "regulator"}  # the cues whose case matters
_COMPILED = [re.compile(pattern, re.IGNORECASE if name not in _CASED else 0) for name, pattern in CUES.items()]
# For ASCII text (every generated article, most real ones) the same matches, about twice as fast:
# ASCII classes, and the case-blind cues as lowercase patterns over the lowercased text (ASCII
# lowercasing keeps every offset and which characters are word characters).
_ASCII = [(re.compile(p if n in _CASED else p.lower(), re.ASCII), n not in _CASED) for n, p in CUES.items()]


CUE_COLUMNS = [*(f"cue_{name}" for name in CUES), "cue_words"]
CACHED_TEXTS = 4096


Matches = tuple[tuple[np.ndarray, np.ndarray] | None, ...]
_CACHE: dict[str, Matches] = {}


def scan_cues(text: str) -> Matches:
    """Per cue, the (starts, ends) of its matches in `text` (None: no match)."""
    if text.isascii():
        lowered = text.lower()
        runs = [pattern.finditer(lowered if blind else text) for pattern, blind in _ASCII]
    else:
        runs = [pattern.finditer(text) for pattern in _COMPILED]
    out = []
    for run in runs:
        found = [m.span() for m in run]
        out.append(tuple(np.array(found, dtype=np.int64).T) if found else None)
    return tuple(out)


def cue_matches(text: str) -> Matches:
    """`scan_cues(text)`, kept for the `CACHED_TEXTS` texts scanned last: training scans an article
    once, not once per fold and use (`remember` takes scans made in worker processes)."""
    found = _CACHE.get(text)
    if found is None:
        found = scan_cues(text)
        remember(text, found)
    return found


def remember(text: str, found: Matches) -> None:
    if len(_CACHE) >= CACHED_TEXTS:
        del _CACHE[next(iter(_CACHE))]  # the oldest
    _CACHE[text] = found


def cue_rows(text: str, spans: list[tuple[int, int]]) -> np.ndarray:
    """One row per (start, end) of `text`: log(1 + matches inside it) of every cue, then
    log(1 + words). Matches of one pattern do not overlap and come in order, so those inside a
    range are a contiguous run: two binary searches per range."""
    starts_of = np.array([s for s, _ in spans], dtype=np.int64).reshape(-1)
    ends_of = np.array([e for _, e in spans], dtype=np.int64).reshape(-1)
    counts = np.zeros((len(spans), len(CUE_COLUMNS)), dtype=np.float64)
    for column, found in enumerate(cue_matches(text)):
        if found is None:
            continue
        starts, ends = found
        inside = np.searchsorted(ends, ends_of, "right") - np.searchsorted(starts, starts_of, "left")
        counts[:, column] = np.maximum(inside, 0)
    counts[:, -1] = [len(text[s:e].split()) for s, e in spans]
    return np.log1p(counts)


def with_cues(frame, texts: dict[str, str]):
    """`frame` (article_id, start, end, ...) with the cue columns, from its articles' `texts`."""
    rows = np.zeros((len(frame), len(CUE_COLUMNS)))
    positions = np.arange(len(frame))
    for article_id, group in frame.groupby("article_id", sort=False).indices.items():
        spans = list(zip(frame["start"].to_numpy()[group], frame["end"].to_numpy()[group], strict=True))
        rows[positions[group]] = cue_rows(texts[article_id], spans)
    return frame.assign(**{name: rows[:, i] for i, name in enumerate(CUE_COLUMNS)})


def article_frame(article_ids, texts) -> pd.DataFrame:
    """Whole articles as the article-level pipelines read them: text and cue columns."""
    texts = list(texts)
    frame = pd.DataFrame({"article_id": list(article_ids), "start": 0, "end": [len(t) for t in texts], "text": texts})
    return with_cues(frame, dict(zip(frame["article_id"], texts, strict=True)))


def _words() -> TfidfVectorizer:
    # min_df=1 and no max_features: the vocabulary is the training texts', deterministic.
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True, dtype=np.float64)


def text_features() -> ColumnTransformer:
    """A table of texts (text and cue columns) → features."""
    return ColumnTransformer([("words", _words(), "text"), ("cues", "passthrough", CUE_COLUMNS)])


def classifier(labels, seed: int):
    """Logistic regression, or the constant answer when the training labels hold one class."""
    if len(set(labels)) < 2:
        return DummyClassifier(strategy="most_frequent")
    return LogisticRegression(solver="newton-cg", max_iter=500, class_weight="balanced", C=4.0, random_state=seed)


def detection_pipeline(labels, seed: int) -> Pipeline:
    """Candidate (text, kind, coverage, position) → is it a claim."""
    columns = ColumnTransformer(
        [
            ("words", _words(), "text"),
            ("cues", "passthrough", CUE_COLUMNS),
            ("kind", OneHotEncoder(categories=[list(KINDS)], handle_unknown="ignore"), ["kind"]),
            ("shape", "passthrough", ["coverage", "position"]),
        ]
    )
    return Pipeline([("features", columns), ("model", classifier(labels, seed))])
