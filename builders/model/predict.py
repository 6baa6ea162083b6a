"""Predictions of a fitted baseline: claim spans with labels and scores, article answers.

A candidate is a claim when the detection model gives it a probability at or above the
model's tuned threshold (threshold.py; 0.5 for a model without one); candidates
are taken from the most probable down and one overlapping an already chosen span is
dropped, so no two predicted spans share a character. A span's `score` is its detection
probability times the probability of its claim_type; an article answer's score is its
probability.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from builders.model.features import article_frame
from builders.model.forked import PARALLEL_MIN_ARTICLES, forked_map
from builders.model.train import CLAIM_TARGETS, Fitted, candidate_table, candidate_tables
from builders.model.vectors import fast_words
from builders.progress import note
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES

THRESHOLD = 0.5


@dataclass
class ArticlePrediction:
    spans: list[dict] = field(default_factory=list)  # start, end, claim_type, evidence, score
    answers: dict[str, tuple[list[str], float]] = field(default_factory=dict)  # family → (values, score)


def positive_probability(estimator, table: pd.DataFrame) -> np.ndarray:
    classes = list(estimator.classes_)
    with fast_words(estimator[0]):  # the pipeline's features
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


BATCH_ARTICLES = 2000  # articles predicted before the next progress line
PART_ARTICLES = 100  # articles a worker predicts at once: bounds the feature matrices' memory


def predict(
    fitted: Fitted,
    articles: pd.DataFrame,
    *,
    notes: bool = False,
    then: Callable[[str, ArticlePrediction], Any] | None = None,
) -> dict[str, Any]:
    """{article_id: prediction} for `articles` (article_id, text), or {article_id: then(article_id,
    prediction)} made where the prediction is (`then` turns it into what the caller keeps, e.g. a
    task's JSON, in the worker). From `PARALLEL_MIN_ARTICLES` on, parts of `PART_ARTICLES` are
    predicted whole (segmented, vectorised, classified) in forked worker processes; rows do not
    depend on each other, so parts change no prediction. `notes`: a progress line every
    `BATCH_ARTICLES` articles (benchmarks/)."""
    pairs = list(zip(articles["article_id"].tolist(), articles["text"].tolist(), strict=True))
    parts = [pairs[i : i + PART_ARTICLES] for i in range(0, len(pairs), PART_ARTICLES)]
    done = forked_map(_predict_part, parts, (fitted, then), parallel=len(pairs) >= PARALLEL_MIN_ARTICLES)
    out: dict[str, Any] = {}
    for number, found in enumerate(done, start=1):
        first = (number - 1) * PART_ARTICLES
        if notes and first % BATCH_ARTICLES == 0:  # a line per batch (when its first part is done)
            last = min(first + BATCH_ARTICLES, len(pairs))
            note(f"articles {first + 1}–{last}: candidates, claims and answers")
        out.update(found)
    return out


def _predict_part(pairs: list[tuple[str, str]], shared: tuple) -> dict[str, Any]:
    fitted, then = shared
    articles = pd.DataFrame(pairs, columns=["article_id", "text"], dtype=object)
    table, whole = candidate_tables(articles, parallel=False)
    found = {a: ArticlePrediction() for a, _ in pairs}
    _collect(fitted, articles, table, whole, found)
    return found if then is None else {a: then(a, prediction) for a, prediction in found.items()}


def _collect(
    fitted: Fitted, articles: pd.DataFrame, table: pd.DataFrame, whole: pd.DataFrame, out: dict[str, ArticlePrediction]
) -> None:
    spans = predict_spans(fitted, articles, table)
    columns = ["article_id", "start", "end", "text", "claim_type", "evidence", "score"]
    for article_id, start, end, text, claim_type, evidence, score in zip(
        *(spans[c].tolist() for c in columns), strict=True
    ):  # column lists, not itertuples: no pandas scalar per cell
        out[article_id].spans.append(
            {
                "start": start,
                "end": end,
                "text": text,
                CLAIM_TYPE.name: claim_type,
                EVIDENCE.name: evidence,
                "score": score,
            }
        )
    has_text = articles["text"].str.strip().astype(bool).to_numpy()  # no text, nothing to answer about
    texts, frame = articles[has_text], whole[has_text].reset_index(drop=True)
    answers = predict_answers(fitted, texts["text"].tolist(), frame)
    for article_id, answer in zip(texts["article_id"], answers, strict=True):
        out[article_id].answers = answer
