"""Predictions of a fitted baseline: claim spans with labels and scores, article answers.

A candidate is a claim when the detection model gives it probability ≥ 0.5; candidates
are taken from the most probable down and one overlapping an already chosen span is
dropped, so no two predicted spans share a character. A span's `score` is its detection
probability times the probability of its claim_type; an article answer's score is its
probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from builders.model.train import Fitted, candidate_table
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES

THRESHOLD = 0.5


@dataclass
class ArticlePrediction:
    spans: list[dict] = field(default_factory=list)  # start, end, claim_type, evidence, score
    answers: dict[str, tuple[list[str], float]] = field(default_factory=dict)  # family → (values, score)


def _positive_probability(estimator, table: pd.DataFrame) -> np.ndarray:
    classes = list(estimator.classes_)
    probability = estimator.predict_proba(table)
    if True in classes:
        return probability[:, classes.index(True)]
    return np.zeros(len(table))  # trained on negatives only: nothing is a claim


def choose_spans(table: pd.DataFrame, probability: np.ndarray, threshold: float = THRESHOLD) -> pd.DataFrame:
    """The non-overlapping candidates at or above `threshold`, most probable first."""
    table = table.assign(score=probability)
    keep = []
    for _article, group in table[table["score"] >= threshold].groupby("article_id", sort=False):
        taken: list[tuple[int, int]] = []
        for row in group.sort_values(["score", "start", "end"], ascending=[False, True, True]).itertuples():
            if all(row.end <= s or row.start >= e for s, e in taken):
                taken.append((row.start, row.end))
                keep.append(row.Index)
    return table.loc[sorted(keep)]


def label_texts(estimator, texts: list[str]) -> tuple[list, np.ndarray]:
    """(labels, their probabilities) for `texts`; (Nones, zeros) without an estimator."""
    if estimator is None or not texts:
        return [None] * len(texts), np.zeros(len(texts))
    probability = estimator.predict_proba(texts)
    best = probability.argmax(axis=1)
    return list(np.asarray(estimator.classes_)[best]), probability[np.arange(len(texts)), best]


def predict_spans(fitted: Fitted, articles: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Predicted claims of `articles` (article_id, text): start, end, labels, scores."""
    table = candidate_table(articles) if table is None else table
    detector = fitted.estimators.get("detect")
    if detector is None or table.empty:
        return table.iloc[:0].assign(score=[], claim_type=[], evidence=[])
    spans = choose_spans(table, _positive_probability(detector, table))
    texts = spans["text"].tolist()
    claim_type, type_score = label_texts(fitted.estimators.get(CLAIM_TYPE.name), texts)
    evidence, _ = label_texts(fitted.estimators.get(EVIDENCE.name), texts)
    return spans.assign(claim_type=claim_type, evidence=evidence, score=spans["score"].to_numpy() * type_score)


def predict_answers(fitted: Fitted, texts: list[str]) -> list[dict[str, tuple[list[str], float]]]:
    """Per text, the article-level answers: family → (values, score)."""
    answers: list[dict[str, tuple[list[str], float]]] = [{} for _ in texts]
    ticked: list[list[tuple[str, float]]] = [[] for _ in texts]
    for item in RISK_DISCLOSURES.names:
        labels, scores = label_texts(fitted.estimators.get(f"{RISK_DISCLOSURES.name}.{item}"), texts)
        for i, (label, score) in enumerate(zip(labels, scores, strict=True)):
            if label == "present":
                ticked[i].append((item, float(score)))
    for i, items in enumerate(ticked):
        if items:  # nothing ticked: no answer, as Label Studio leaves an empty checklist out
            answers[i][RISK_DISCLOSURES.name] = ([n for n, _ in items], float(np.mean([s for _, s in items])))
    for family in (HARMS_EXPLAINED, EVIDENCE_EXPLAINED):
        labels, scores = label_texts(fitted.estimators.get(family.name), texts)
        for i, (label, score) in enumerate(zip(labels, scores, strict=True)):
            if label is not None:
                answers[i][family.name] = ([str(label)], float(score))
    return answers


def predict(fitted: Fitted, articles: pd.DataFrame) -> dict[str, ArticlePrediction]:
    """{article_id: prediction} for `articles` (article_id, text)."""
    out = {a: ArticlePrediction() for a in articles["article_id"]}
    for row in predict_spans(fitted, articles).itertuples(index=False):
        out[row.article_id].spans.append(
            {
                "start": int(row.start),
                "end": int(row.end),
                "text": row.text,
                CLAIM_TYPE.name: row.claim_type,
                EVIDENCE.name: row.evidence,
                "score": float(row.score),
            }
        )
    texts = articles[articles["text"].str.strip().astype(bool)]  # no text, nothing to answer about
    for article_id, answers in zip(texts["article_id"], predict_answers(fitted, texts["text"].tolist()), strict=True):
        out[article_id].answers = answers
    return out
