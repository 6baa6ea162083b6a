"""`khc model train`: fit the baseline's pipelines on the current build's labels and save it.

(a) detection: each candidate (candidates.py) is a claim or not. A gold claim's positive
is the candidate that overlaps it best, if their character IoU reaches the build's match
threshold (0.5); every other candidate is a negative. (b) `claim_type` and (c) `evidence`
learn from the gold claims' own texts. (d) each risk-disclosure item (present or not) and
`harms_explained` / `evidence_explained` learn from the article text. A family whose
training labels hold one class gets the constant answer; one with no labels at all gets
no model (its predictions are left out and the evaluation says why).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from builders.build.spans import MATCH_IOU
from builders.model.candidates import candidates
from builders.model.data import UNDECIDED, TrainingData, load_training, require_labels
from builders.model.features import detection_pipeline, text_pipeline
from builders.progress import note
from builders.project import Project
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES

DEFAULT_SEED = 16
PARALLEL_MIN_ARTICLES = 400
WORKERS = 2  # the machine's cores
BATCH = 100
CANDIDATE_COLUMNS = ["article_id", "start", "end", "kind", "sentence", "coverage", "position", "text"]


def _rows(batch: list[tuple[str, str]]) -> list[tuple]:
    return [
        (article_id, c.start, c.end, c.kind, c.sentence, c.coverage, c.position, text[c.start : c.end])
        for article_id, text in batch
        for c in candidates(text)
    ]


def candidate_table(articles: pd.DataFrame) -> pd.DataFrame:
    """Every candidate of every article, with its text. pysbd costs about 10 ms an article,
    so a large batch is segmented in `WORKERS` processes (the rows come back in order)."""
    pairs = list(zip(articles["article_id"], articles["text"], strict=True))
    if len(pairs) < PARALLEL_MIN_ARTICLES:
        rows = _rows(pairs)
    else:
        batches = [pairs[i : i + BATCH] for i in range(0, len(pairs), BATCH)]
        with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork")) as pool:
            rows = [row for part in pool.map(_rows, batches) for row in part]
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)


def best_matches(table: pd.DataFrame, claims: pd.DataFrame) -> np.ndarray:
    """Per claim, the row of `table` that overlaps it best with IoU ≥ 0.5, else -1."""
    found = np.full(len(claims), -1)
    by_article = {a: g for a, g in table.groupby("article_id", sort=False)}
    for i, (article_id, start, end) in enumerate(
        zip(claims["article_id"], claims["start"], claims["end"], strict=True)
    ):
        group = by_article.get(article_id)
        if group is None:
            continue
        s, e = group["start"].to_numpy(), group["end"].to_numpy()
        overlap = np.minimum(e, end) - np.maximum(s, start)
        score = np.where(overlap > 0, overlap / (np.maximum(e, end) - np.minimum(s, start)), 0.0)
        best = int(np.argmax(score))
        if score[best] >= MATCH_IOU:
            found[i] = group.index[best]
    return found


def detection_labels(table: pd.DataFrame, claims: pd.DataFrame) -> np.ndarray:
    labels = np.zeros(len(table), dtype=bool)
    matches = best_matches(table, claims)
    labels[table.index.get_indexer(matches[matches >= 0])] = True
    return labels


def article_targets(articles: pd.DataFrame) -> dict[str, pd.Series]:
    """Every article-level target as a Series of labels (None where the article has no answer)."""
    targets: dict[str, pd.Series] = {}
    for item in RISK_DISCLOSURES.names:
        present = articles[RISK_DISCLOSURES.name].map(lambda v, i=item: "present" if i in v else "absent")
        undecided = articles[UNDECIDED].map(lambda v, i=item: i in v)
        targets[f"{RISK_DISCLOSURES.name}.{item}"] = present.where(~undecided, None)
    for family in (HARMS_EXPLAINED, EVIDENCE_EXPLAINED):
        targets[family.name] = articles[family.name]
    return targets


@dataclass
class Fitted:
    """The estimators of one baseline, by target; None: no training labels for it."""

    estimators: dict[str, object]


def _fit_text(texts: pd.Series, labels: pd.Series, seed: int):
    known = labels.notna().to_numpy()
    if not known.any():
        return None
    y = labels[known].astype(str).to_numpy()
    return text_pipeline(y, seed).fit(texts[known].tolist(), y)


def fit(data: TrainingData, seed: int, table: pd.DataFrame | None = None) -> Fitted:
    """Fit every target on `data`; `table` is its candidate table when already made."""
    table = candidate_table(data.articles) if table is None else table
    estimators: dict[str, object] = {}
    y = detection_labels(table, data.claims)
    estimators["detect"] = detection_pipeline(y, seed).fit(table, y) if len(table) else None
    for family in (CLAIM_TYPE, EVIDENCE):
        estimators[family.name] = _fit_text(data.claims["text"], data.claims[family.name], seed)
    for name, labels in article_targets(data.articles).items():
        estimators[name] = _fit_text(data.articles["text"], labels, seed)
    return Fitted(estimators)


def train(project: Project, out: Path, seed: int = DEFAULT_SEED) -> tuple[Path, dict]:
    """Evaluate by cross-validation, fit on all the labels, save; (model folder, card)."""
    from builders.model.evaluate import cross_validate
    from builders.model.store import make_card, save

    data = load_training(project)
    require_labels(data, "the current build (khc build)")
    note(f"{len(data.articles)} labelled articles, {len(data.claims)} claims; finding claim candidates")
    table = candidate_table(data.articles)
    note(f"{len(table)} candidates; cross-validating")
    evaluation = cross_validate(data, seed, table)
    note("fitting on all the labels")
    fitted = fit(data, seed, table)
    card = make_card(data, seed, evaluation)
    folder = save(fitted, card, out)
    note("done")
    return folder, card
