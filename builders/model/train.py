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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from builders.build.spans import MATCH_IOU
from builders.model import DEFAULT_SEED
from builders.model.candidates import candidates
from builders.model.data import UNDECIDED, TrainingData, load_training, require_labels
from builders.model.features import (
    CUE_COLUMNS,
    article_frame,
    classifier,
    cue_matches,
    cue_rows,
    detection_pipeline,
    remember,
    text_features,
    with_cues,
)
from builders.model.forked import PARALLEL_MIN_ARTICLES, forked_map
from builders.model.vectors import fast_words
from builders.progress import note
from builders.project import Project
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES

BATCH = 100
CANDIDATE_COLUMNS = ["article_id", "start", "end", "kind", "sentence", "coverage", "position", "text"]


Rows = tuple[dict[str, list], np.ndarray, np.ndarray, list]


def _rows(batch: list[tuple[str, str]], scans: bool = False) -> Rows:
    """(the candidates' columns, their cue rows, each article's own cue row, its cue scans if
    `scans`), by column: one cue scan per article serves its candidates, itself and (sent back from
    a worker) its claims."""
    columns: dict[str, list] = {name: [] for name in CANDIDATE_COLUMNS}
    cue_blocks, scanned = [], []
    for article_id, text in batch:
        found = candidates(text)
        cue_blocks.append(cue_rows(text, [*((c.start, c.end) for c in found), (0, len(text))]))
        scanned += [cue_matches(text)] if scans else []
        columns["article_id"] += [article_id] * len(found)
        for name in ("start", "end", "kind", "sentence", "coverage", "position"):
            columns[name] += [getattr(c, name) for c in found]
        columns["text"] += [text[c.start : c.end] for c in found]
    cues = np.vstack(cue_blocks) if cue_blocks else np.zeros((0, len(CUE_COLUMNS)))
    last = np.cumsum([len(block) for block in cue_blocks], dtype=np.int64) - 1  # each article's own row
    inside = np.ones(len(cues), dtype=bool)
    inside[last] = False
    return columns, cues[inside], cues[last], scanned


def _rows_with_scans(batch: list[tuple[str, str]], _shared: None) -> Rows:
    return _rows(batch, scans=True)


def candidate_tables(articles: pd.DataFrame, *, parallel: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every candidate of every article, with its text and cue columns; the articles themselves
    as `article_frame` gives them). Segmentation and the cue scan cost a few ms an article, so a
    large batch is done in forked worker processes (the rows come back in order)."""
    pairs = list(zip(articles["article_id"], articles["text"], strict=True))
    if len(pairs) < PARALLEL_MIN_ARTICLES or not parallel:
        parts = [_rows(pairs)]
    else:
        batches = [pairs[i : i + BATCH] for i in range(0, len(pairs), BATCH)]
        parts = list(forked_map(_rows_with_scans, batches, None, parallel=True))
        for (_, text), found in zip(pairs, (s for *_, scans in parts for s in scans), strict=True):
            remember(text, found)  # the claims' cue rows need them here
    columns = {name: [v for part in parts for v in part[0][name]] for name in CANDIDATE_COLUMNS}
    if not columns["start"]:  # no candidate: the empty table a list of rows gives
        table = pd.DataFrame([], columns=[*CANDIDATE_COLUMNS, *CUE_COLUMNS])
    else:
        table = pd.DataFrame({name: values for name, values in columns.items() if name != "text"})
        table["text"] = pd.Series(columns["text"], dtype=object)  # Python strings: read one by one
        cues = np.vstack([part[1] for part in parts])
        table = table.assign(**{name: cues[:, i] for i, name in enumerate(CUE_COLUMNS)})
    cues = np.vstack([part[2] for part in parts]).reshape(-1, len(CUE_COLUMNS))
    whole = pd.DataFrame({"article_id": [a for a, _ in pairs], "start": 0, "end": [len(t) for _, t in pairs]})
    whole["text"] = [t for _, t in pairs]
    return table, whole.assign(**{name: cues[:, i] for i, name in enumerate(CUE_COLUMNS)})


def candidate_table(articles: pd.DataFrame) -> pd.DataFrame:
    """Every candidate of every article, with its text and cue columns."""
    return candidate_tables(articles)[0]


def best_matches(table: pd.DataFrame, claims: pd.DataFrame) -> np.ndarray:
    """Per claim, the row of `table` that overlaps it best with IoU ≥ 0.5 (ties: the first), else -1."""
    found = np.full(len(claims), -1)
    rows = table.groupby("article_id", sort=False).indices
    starts, ends, index = table["start"].to_numpy(), table["end"].to_numpy(), table.index.to_numpy()
    claim_start, claim_end = claims["start"].to_numpy(), claims["end"].to_numpy()
    for article_id, mine in claims.groupby("article_id", sort=False).indices.items():
        at = rows.get(article_id)
        if at is None:
            continue
        s, e = starts[at][None, :], ends[at][None, :]
        start, end = claim_start[mine][:, None], claim_end[mine][:, None]
        overlap = np.minimum(e, end) - np.maximum(s, start)
        # the build's iou(): int overlap / int union, for every claim and candidate at once
        score = np.divide(
            overlap, np.maximum(e, end) - np.minimum(s, start), out=np.zeros(overlap.shape), where=overlap > 0
        )
        best = score.argmax(axis=1)
        hit = score[np.arange(len(mine)), best] >= MATCH_IOU
        found[mine[hit]] = index[at][best[hit]]
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
    """The estimators of one baseline, by target; None: no training labels for it.

    `claim_features` and `article_features` turn texts into one feature matrix shared by the
    classifiers of their group (claim_type and evidence; every article-level target), so a text
    is vectorised once, not once per target; `detect_threshold` is the detection cut-off tuned
    on the training articles alone (threshold.py)."""

    estimators: dict[str, object]

    def group(self, features: str, names: list[str], frame: pd.DataFrame) -> dict[str, tuple[list, np.ndarray]]:
        """{target: (labels, their probabilities)} for the texts of `frame` (text and cue
        columns), vectorised once."""
        n = len(frame)
        vectorizer = self.estimators.get(features)
        if vectorizer is None or not n:
            return {name: ([None] * n, np.zeros(n)) for name in names}
        with fast_words(vectorizer):
            matrix = vectorizer.transform(frame)
        out = {}
        for name in names:
            estimator = self.estimators.get(name)
            if estimator is None:
                out[name] = ([None] * n, np.zeros(n))
                continue
            probability = estimator.predict_proba(matrix)
            best = probability.argmax(axis=1)
            out[name] = (list(np.asarray(estimator.classes_)[best]), probability[np.arange(n), best])
        return out


CLAIM_TARGETS = [CLAIM_TYPE.name, EVIDENCE.name]


def _fit_group(frame: pd.DataFrame, targets: dict[str, pd.Series], seed: int) -> dict[str, object]:
    """One vectoriser fitted on the texts (of `frame`) that have any label, one classifier per
    target on it."""
    known = {name: labels.notna().to_numpy() for name, labels in targets.items()}
    used = np.logical_or.reduce(list(known.values())) if known else np.zeros(len(frame), bool)
    if not used.any():
        return {"features": None, **{name: None for name in targets}}
    if used.all():  # one pass over the texts, not a fit and then a transform
        vectorizer = text_features()
        matrix = vectorizer.fit_transform(frame)
    else:
        vectorizer = text_features().fit(frame[used])
        matrix = vectorizer.transform(frame)
    fitted: dict[str, object] = {"features": vectorizer}
    for name, labels in targets.items():
        if not known[name].any():
            fitted[name] = None
            continue
        y = labels[known[name]].astype(str).to_numpy()
        fitted[name] = classifier(y, seed).fit(matrix[known[name]], y)
    return fitted


def fit(data: TrainingData, seed: int, table: pd.DataFrame | None = None) -> Fitted:
    """Fit every target on `data`; `table` is its candidate table when already made."""
    from builders.model.folds import recorded_folds
    from builders.model.threshold import tune_threshold

    table = candidate_table(data.articles) if table is None else table
    estimators: dict[str, object] = {}
    y = detection_labels(table, data.claims)
    estimators["detect"] = detection_pipeline(y, seed).fit(table, y) if len(table) else None
    estimators["detect_threshold"] = (
        tune_threshold(table, y, data.claims, seed, recorded_folds(data.articles)) if len(table) else 0.5
    )
    texts = dict(zip(data.articles["article_id"], data.articles["text"], strict=True))
    claim_frame = with_cues(data.claims.reset_index(drop=True), texts)
    claims = _fit_group(claim_frame, {n: claim_frame[n] for n in CLAIM_TARGETS}, seed)
    estimators["claim_features"] = claims.pop("features")
    article_table = article_frame(data.articles["article_id"], data.articles["text"])
    targets = {name: labels.reset_index(drop=True) for name, labels in article_targets(data.articles).items()}
    articles = _fit_group(article_table, targets, seed)
    estimators["article_features"] = articles.pop("features")
    return Fitted({**estimators, **claims, **articles})


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
