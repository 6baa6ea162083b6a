"""Predictions of a fitted baseline: claim spans with labels and scores, article answers.

A candidate is a claim when the detection model gives it a probability at or above the
model's tuned threshold (threshold.py; 0.5 for a model without one); candidates
are taken from the most probable down and one overlapping an already chosen span is
dropped, so no two predicted spans share a character. A span's `score` is its detection
probability times the probability of its claim_type; an article answer's score is its
probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from builders.model.features import article_frame
from builders.model.train import CLAIM_TARGETS, Fitted, candidate_table, candidate_tables
from builders.progress import note
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES

THRESHOLD = 0.5


@dataclass
class ArticlePrediction:
    spans: list[dict] = field(default_factory=list)  # start, end, claim_type, evidence, score
    answers: dict[str, tuple[list[str], float]] = field(default_factory=dict)  # family → (values, score)


def positive_probability(estimator, table: pd.DataFrame) -> np.ndarray:
    classes = list(estimator.classes_)
    probability = estimator.predict_proba(table)
    if True in classes:
        return probability[:, classes.index(True)]
    return np.zeros(len(table))  # trained on negatives only: nothing is a claim


def choose_spans(table: pd.DataFrame, probability: np.ndarray, threshold: float = THRESHOLD) -> pd.DataFrame:
    """The non-overlapping candidates at or above `threshold`, most probable first (ties: the
    earlier start, then the earlier end), in the table's order."""
    table = table.assign(score=probability)
    chosen = np.flatnonzero(np.asarray(probability) >= threshold)
    articles = pd.factorize(table["article_id"].to_numpy()[chosen])[0]
    starts, ends = table["start"].to_numpy()[chosen], table["end"].to_numpy()[chosen]
    order = np.lexsort((ends, starts, -np.asarray(probability)[chosen], articles))
    keep: list[int] = []
    article, taken = -1, []
    for i, a, s, e in zip(
        order.tolist(), articles[order].tolist(), starts[order].tolist(), ends[order].tolist(), strict=True
    ):
        if a != article:
            article, taken = a, []
        if all(e <= ts or s >= te for ts, te in taken):
            taken.append((s, e))
            keep.append(i)
    return table.loc[np.sort(table.index.to_numpy()[chosen[keep]])]


def claim_labels(fitted: Fitted, claims: pd.DataFrame) -> dict[str, tuple[list, np.ndarray]]:
    """{claim_type / evidence: (labels, their probabilities)} for claims (text and cue columns)."""
    return fitted.group("claim_features", CLAIM_TARGETS, claims)


def predict_spans(fitted: Fitted, articles: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Predicted claims of `articles` (article_id, text): start, end, labels, scores."""
    table = candidate_table(articles) if table is None else table
    detector = fitted.estimators.get("detect")
    if detector is None or table.empty:
        return table.iloc[:0].assign(score=[], claim_type=[], evidence=[])
    threshold = float(fitted.estimators.get("detect_threshold", THRESHOLD))
    spans = choose_spans(table, positive_probability(detector, table), threshold)
    labels = claim_labels(fitted, spans)
    (claim_type, type_score), (evidence, _) = labels[CLAIM_TYPE.name], labels[EVIDENCE.name]
    return spans.assign(claim_type=claim_type, evidence=evidence, score=spans["score"].to_numpy() * type_score)


def predict_answers(
    fitted: Fitted, texts: list[str], frame: pd.DataFrame | None = None
) -> list[dict[str, tuple[list[str], float]]]:
    """Per text, the article-level answers: family → (values, score); `frame`: the texts as
    `article_frame` gives them, when already made."""
    items = [f"{RISK_DISCLOSURES.name}.{item}" for item in RISK_DISCLOSURES.names]
    families = [HARMS_EXPLAINED.name, EVIDENCE_EXPLAINED.name]
    frame = article_frame(range(len(texts)), texts) if frame is None else frame
    found = fitted.group("article_features", items + families, frame)
    answers: list[dict[str, tuple[list[str], float]]] = [{} for _ in texts]
    ticked: list[list[tuple[str, float]]] = [[] for _ in texts]
    for name in items:
        labels, scores = found[name]
        for i, (label, score) in enumerate(zip(labels, scores, strict=True)):
            if label == "present":
                ticked[i].append((name.split(".", 1)[1], float(score)))
    for i, chosen in enumerate(ticked):
        if chosen:  # nothing ticked: no answer, as Label Studio leaves an empty checklist out
            answers[i][RISK_DISCLOSURES.name] = ([n for n, _ in chosen], float(np.mean([s for _, s in chosen])))
    for name in families:
        labels, scores = found[name]
        for i, (label, score) in enumerate(zip(labels, scores, strict=True)):
            if label is not None:
                answers[i][name] = ([str(label)], float(score))
    return answers


BATCH_ARTICLES = 2000  # articles vectorised at once: bounds the feature matrices' memory


def predict(fitted: Fitted, articles: pd.DataFrame, *, notes: bool = False) -> dict[str, ArticlePrediction]:
    """{article_id: prediction} for `articles` (article_id, text), `BATCH_ARTICLES` at a time; each
    batch is segmented in parallel and vectorised once per feature set (rows do not depend on
    each other, so batching changes no prediction). `notes`: print each stage (benchmarks/)."""
    out = {a: ArticlePrediction() for a in articles["article_id"]}
    for first in range(0, len(articles), BATCH_ARTICLES):
        batch = articles.iloc[first : first + BATCH_ARTICLES]
        if notes:
            note(f"articles {first + 1}–{first + len(batch)}: claim candidates")
        table, whole = candidate_tables(batch)
        if notes:
            note(f"articles {first + 1}–{first + len(batch)}: {len(table)} candidates; claims and answers")
        _collect(fitted, batch, table, whole, out)
    return out


def _collect(
    fitted: Fitted, articles: pd.DataFrame, table: pd.DataFrame, whole: pd.DataFrame, out: dict[str, ArticlePrediction]
) -> None:
    for row in predict_spans(fitted, articles, table).itertuples(index=False):
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
    has_text = articles["text"].str.strip().astype(bool).to_numpy()  # no text, nothing to answer about
    texts, frame = articles[has_text], whole[has_text].reset_index(drop=True)
    answers = predict_answers(fitted, texts["text"].tolist(), frame)
    for article_id, answer in zip(texts["article_id"], answers, strict=True):
        out[article_id].answers = answer
