"""`khc model evaluate`: cross-validation grouped by article, against a majority-class baseline.

Folds come from folds.py (leave-one-article-out below 10 labelled articles, the committed
folds of corpus/folds.csv from there on; test articles take no part); an article's
candidates, claims and answers are always on one side only. Predictions of all folds are
pooled before the figures are computed.
- detection: a predicted span is correct when it is matched one-to-one to a reference
  claim with character IoU ≥ 0.5 (the build's overlap rule); precision, recall, F1. The
  baseline gives every sentence's answer the training folds' majority gives (claim or not).
- claim_type, evidence (on the reference claims' texts), harms_explained and
  evidence_explained: F1 per class and macro F1; the baseline answers the training folds'
  most frequent class. Each risk-disclosure item: F1 of "present".
A figure with nothing to count is None with the reason in `notes`, never NaN.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from builders.build.spans import MATCH_IOU, iou
from builders.model.data import TrainingData
from builders.model.features import with_cues
from builders.model.folds import cv_groups
from builders.model.forked import PARALLEL_MIN_ARTICLES, forked_map
from builders.model.predict import claim_labels, predict_answers, predict_spans
from builders.model.scoring import detection_counts, f1_counts
from builders.model.train import Fitted, article_targets, candidate_table, fit
from builders.progress import note
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES


def independent(votes: pd.Series, accepted: pd.Series, annotators: pd.Series) -> np.ndarray:
    """True where the votes that are not a prediction accepted unchanged still make a majority of
    the deciding annotators: the label stands without the people who only confirmed a model."""
    return (2 * (votes.astype(int) - accepted.astype(int)) > annotators.astype(int)).to_numpy()


def reference_masks(data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    """(claims kept as reference, articles kept as reference); model-origin labels have no
    accepted votes, so they are all kept."""
    claims, articles = data.claims, data.articles
    kept_claims = independent(claims["n_marked"], claims["n_accepted_unchanged"], claims["n_annotators"])
    kept_articles = independent(articles["n_annotators"], articles["n_accepted_unchanged"], articles["n_annotators"])
    return kept_claims, kept_articles


def class_figures(truth: list, predicted: list, names: list[str]) -> dict:
    """Per-class F1 over the schema's classes and macro F1 over those seen in either list."""
    per_class = {}
    for name in names:
        tp = sum(t == name and p == name for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != name and p == name for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == name and p != name for t, p in zip(truth, predicted, strict=True))
        per_class[name] = {"f1": f1_counts(tp, fp, fn)["f1"], "support": sum(t == name for t in truth)}
    seen = [v["f1"] for n, v in per_class.items() if v["f1"] is not None]
    correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    return {
        "macro_f1": round(float(np.mean(seen)), 4) if seen else None,
        "accuracy": round(correct / len(truth), 4) if truth else None,
        "per_class": per_class,
    }


def majority(labels) -> str | None:
    counted = Counter(v for v in labels if v is not None)
    return min(counted, key=lambda v: (-counted[v], str(v))) if counted else None


def _sentence_is_claim(table: pd.DataFrame, claims: pd.DataFrame) -> pd.Series:
    sentences = table[table["kind"] == "sentence"]
    by_article = {a: g[["start", "end"]].to_numpy() for a, g in claims.groupby("article_id")}
    return pd.Series(
        [
            any(iou(s, e, cs, ce) >= MATCH_IOU for cs, ce in by_article.get(a, []))
            for a, s, e in zip(sentences["article_id"], sentences["start"], sentences["end"], strict=True)
        ],
        index=sentences.index,
    )


class _Pooled:
    """Reference, model and baseline answers of every fold, pooled per target."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[list, list, list]] = {}

    def add(self, name: str, truth: list, predicted: list, baseline_answer) -> None:
        t, p, b = self.answers.setdefault(name, ([], [], []))
        for label, guess in zip(truth, predicted, strict=True):
            if label is not None and not (isinstance(label, float) and np.isnan(label)):
                t.append(label)
                p.append(guess)
                b.append(baseline_answer)


def cross_validate(data: TrainingData, seed: int, table: pd.DataFrame | None = None) -> dict:
    """The evaluation report (JSON-ready)."""
    scheme, folds = cv_groups(data.articles)
    if len(folds) < len(data.articles):  # one without a committed fold takes no part (the build gives
        # every train and validation article one)
        data = _only(data, set(folds))
    table = candidate_table(data.articles) if table is None else table[table["article_id"].isin(set(folds))]
    article_ids = data.articles["article_id"].tolist()
    origins = dict(sorted(Counter(data.articles["origin"].fillna("unknown")).items()))
    kept_claims, kept_articles = reference_masks(data)
    left_out = {"claims": int((~kept_claims).sum()), "articles": int((~kept_articles).sum())}
    report: dict = {"scheme": scheme, "folds": len(set(folds.values())), "articles": len(article_ids)}
    report |= {"seed": seed, "reference": reference_of(origins, left_out), "notes": []}
    if len(article_ids) < 2:
        report["notes"].append(
            f"only {len(article_ids)} labelled article: nothing to cross-validate against, so no figure is given; "
            "label more articles before reading anything into the baseline"
        )
        return report
    spans, baseline_spans, every_sentence, thresholds, pooled = [], [], [], [], _Pooled()
    targets = article_targets(data.articles)
    texts = dict(zip(data.articles["article_id"], data.articles["text"], strict=True))
    fold_of_article = data.articles["article_id"].map(folds).to_numpy()
    for number, (fold, fitted) in enumerate(_fold_models(data, seed, table, fold_of_article), start=1):
        note(f"fold {number} of {report['folds']}")
        inside, claims_in, table_in, part = _split(data, table, fold_of_article, fold)
        held_articles, held_claims = data.articles[~inside], data.claims[claims_in & kept_claims]
        spans.append(predict_spans(fitted, held_articles, table[table_in]))
        thresholds.append(float(fitted.estimators["detect_threshold"]))
        sentence_claims = _sentence_is_claim(table[~table_in], part.claims)
        sentences = table[table_in & (table["kind"] == "sentence").to_numpy()]
        every_sentence.append(sentences)
        if len(sentence_claims) and sentence_claims.mean() > 0.5:
            baseline_spans.append(sentences)
        labelled = claim_labels(fitted, with_cues(held_claims, texts))
        for family in (CLAIM_TYPE, EVIDENCE):
            labels, _ = labelled[family.name]
            pooled.add(family.name, held_claims[family.name].tolist(), labels, majority(part.claims[family.name]))
        answers = predict_answers(fitted, held_articles["text"].tolist())
        for name, labels in targets.items():
            guesses = [_answer(name, a) for a in answers]
            truth = labels[~inside].where(kept_articles[~inside], None)  # left out: no reference answer
            pooled.add(name, truth.tolist(), guesses, majority(labels[inside]))
    _detection(report, data, pd.concat(spans), (baseline_spans, every_sentence), kept_claims)
    report["detection"]["thresholds"] = thresholds  # each fold's, tuned inside its training articles
    for family in (CLAIM_TYPE, EVIDENCE):
        report[family.name] = _classes(report, family.name, *pooled.answers[family.name], family.names, "claims")
    report[RISK_DISCLOSURES.name] = {}
    for name in targets:
        truth, predicted, baseline = pooled.answers.get(name, ([], [], []))
        if name.startswith(f"{RISK_DISCLOSURES.name}."):
            figures = _classes(report, name, truth, predicted, baseline, ["present", "absent"], "articles")
            report[RISK_DISCLOSURES.name][name.split(".", 1)[1]] = {
                "units": figures["units"],
                "present": figures["model"]["per_class"]["present"]["support"],
                "model": {"f1": figures["model"]["per_class"]["present"]["f1"]},
                "baseline": {"f1": figures["baseline"]["per_class"]["present"]["f1"]},
            }
        else:
            names = (HARMS_EXPLAINED if name == HARMS_EXPLAINED.name else EVIDENCE_EXPLAINED).names
            report[name] = _classes(report, name, truth, predicted, baseline, names, "articles")
    return report


def _split(data: TrainingData, table: pd.DataFrame, fold_of_article: np.ndarray, fold: int) -> tuple:
    """(training articles, held-out claims, held-out candidates: masks; the training part)."""
    inside = fold_of_article != fold
    held = set(data.articles["article_id"][~inside])
    claims_in = data.claims["article_id"].isin(held).to_numpy()
    table_in = table["article_id"].isin(held).to_numpy()
    part = TrainingData(data.articles[inside], data.claims[~claims_in], data.guideline_version, "", {})
    return inside, claims_in, table_in, part


def _fit_fold(fold: int, shared: tuple) -> Fitted:
    data, seed, table, fold_of_article = shared
    _, _, table_in, part = _split(data, table, fold_of_article, fold)
    return fit(part, seed, table[~table_in])


def _fold_models(data: TrainingData, seed: int, table: pd.DataFrame, fold_of_article: np.ndarray):
    """(fold, the model fitted without it), fold by fold. From `PARALLEL_MIN_ARTICLES` articles on,
    the folds are fitted in forked worker processes (each fit is seeded, so the same models)."""
    order = sorted(set(fold_of_article.tolist()))
    shared = (data, seed, table, fold_of_article)
    parallel = len(data.articles) >= PARALLEL_MIN_ARTICLES
    yield from zip(order, forked_map(_fit_fold, order, shared, parallel=parallel), strict=True)


def _only(data: TrainingData, kept: set[str]) -> TrainingData:
    articles = data.articles[data.articles["article_id"].isin(kept)].reset_index(drop=True)
    claims = data.claims[data.claims["article_id"].isin(kept)].reset_index(drop=True)
    return TrainingData(articles, claims, data.guideline_version, data.source, data.left_out)


def reference_of(origins: dict[str, int], left_out: dict[str, int] | None = None) -> dict:
    left_out = left_out or {"claims": 0, "articles": 0}
    if set(origins) <= {"model"}:
        text = (
            "the maintainers' pre-annotations (origin = model), not human labels: the figures say how well the "
            "baseline reproduces the pre-annotations, not how well it agrees with people"
        )
    elif set(origins) == {"human"}:
        text = "the aggregated human labels (origin = human)"
    else:
        text = (
            f"human labels for {origins.get('human', 0)} articles and the maintainers' pre-annotations "
            f"(origin = model) for {origins.get('model', 0)}: only part of the figures compare with people"
        )
    if any(left_out.values()):
        text += (
            f"; left out of the reference: {left_out['claims']} claims and the answers of {left_out['articles']} "
            "articles that stand only by people accepting a prediction unchanged (a prediction matching such a "
            "claim is neither right nor wrong)"
        )
    return {"origin_counts": origins, "left_out_accepted_unchanged": left_out, "description": text}


def _detection(
    report: dict,
    data: TrainingData,
    predicted: pd.DataFrame,
    baselines: tuple[list[pd.DataFrame], list[pd.DataFrame]],
    kept: np.ndarray,
) -> None:
    ids = data.articles["article_id"]
    reference, ignored = data.claims[kept], data.claims[~kept]
    majority_spans, every_sentence = (pd.concat(b) if b else predicted.iloc[:0] for b in baselines)
    report["detection"] = {
        "units": len(reference),
        "unit": "reference claims",
        "model": f1_counts(**detection_counts(predicted, reference, ids, ignored)),
        "baseline": f1_counts(**detection_counts(majority_spans, reference, ids, ignored)),
        "baseline_rule": "every sentence is a claim when most training sentences are, else none",
        "every_sentence": f1_counts(**detection_counts(every_sentence, reference, ids, ignored)),
    }
    if not len(reference):
        report["notes"].append("the reference has no claims: detection F1 is not available")


def _answer(name: str, answers: dict) -> str | None:
    if name.startswith(f"{RISK_DISCLOSURES.name}."):
        ticked = answers.get(RISK_DISCLOSURES.name, ([], 0.0))[0]
        return "present" if name.split(".", 1)[1] in ticked else "absent"
    return answers.get(name, ([None], 0.0))[0][0]


def _classes(report: dict, name: str, truth, predicted, baseline, names: list[str], unit: str) -> dict:
    missing = [n for n in names if n not in truth]
    if not truth:
        report["notes"].append(f"{name}: the reference has no {unit} with this label, so no figure is given")
    elif missing:
        report["notes"].append(
            f"{name}: no reference {unit} of {', '.join(missing)}; their F1 is not available (or 0 when predicted) "
            f"and the macro F1 covers the classes seen"
        )
    return {
        "units": len(truth),
        "unit": unit,
        "model": class_figures(truth, predicted, names),
        "baseline": class_figures(truth, baseline, names),
    }
