"""Features of the baseline: word TF-IDF plus counts of cue patterns, and the pipelines.

The cues are inputs to a learned model, never rules that decide a label: citation shapes
(authors and year, DOI, link, trial registry id), numbers and percentages, study words,
regulators, testimony, advice to the reader, risk words and hedges. Every pipeline is
made of scikit-learn parts and the one function `cue_counts` here, so a saved model holds
no other code (store.py trusts exactly these types when it loads one).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

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
_COMPILED = [
    re.compile(pattern, re.IGNORECASE if name not in {"author_year", "regulator"} else 0)
    for name, pattern in CUES.items()
]


def cue_counts(texts) -> np.ndarray:
    """One row per text: log(1 + hits) of every cue, then log(1 + words)."""
    texts = list(texts.iloc[:, 0] if hasattr(texts, "iloc") and texts.ndim == 2 else texts)
    return np.log1p(np.array([_cue_row(text) for text in texts], dtype=np.float64).reshape(len(texts), -1))


@lru_cache(maxsize=1 << 18)
def _cue_row(text: str) -> tuple[int, ...]:
    # cached: cross-validation transforms every candidate once per fold
    return (*(len(pattern.findall(text)) for pattern in _COMPILED), len(text.split()))


def _words() -> TfidfVectorizer:
    # min_df=1 and no max_features: the vocabulary is the training texts', deterministic.
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True, dtype=np.float64)


def text_features() -> FeatureUnion:
    return FeatureUnion([("words", _words()), ("cues", FunctionTransformer(cue_counts))])


def classifier(labels, seed: int):
    """Logistic regression, or the constant answer when the training labels hold one class."""
    if len(set(labels)) < 2:
        return DummyClassifier(strategy="most_frequent")
    return LogisticRegression(solver="newton-cg", max_iter=500, class_weight="balanced", C=4.0, random_state=seed)


def text_pipeline(labels, seed: int) -> Pipeline:
    """Text → one label (claim_type, evidence, an article-level answer)."""
    return Pipeline([("features", text_features()), ("model", classifier(labels, seed))])


def detection_pipeline(labels, seed: int) -> Pipeline:
    """Candidate (text, kind, coverage, position) → is it a claim."""
    columns = ColumnTransformer(
        [
            ("words", _words(), "text"),
            ("cues", FunctionTransformer(cue_counts), ["text"]),
            ("kind", OneHotEncoder(categories=[list(KINDS)], handle_unknown="ignore"), ["kind"]),
            ("shape", "passthrough", ["coverage", "position"]),
        ]
    )
    return Pipeline([("features", columns), ("model", classifier(labels, seed))])
