"""The detection threshold is tuned inside the training articles only; predicting many articles
at once gives what predicting each alone gives (the vectorisers run once per batch)."""

from __future__ import annotations

import pandas as pd
import pytest

from builders.model.data import load_training
from builders.model.folds import LEAVE_ONE_OUT_BELOW, cv_groups, recorded_folds
from builders.model.predict import predict
from builders.model.store import load
from builders.model.threshold import GRID, held_out_sets, tune_threshold
from builders.model.train import candidate_table, detection_labels
from builders.project import load_project


def test_inner_held_out_articles_are_training_articles_of_one_committed_fold():
    few = {f"a{i}": i % 5 for i in range(LEAVE_ONE_OUT_BELOW - 1)}
    assert held_out_sets(few) == [{a} for a in sorted(few)]
    many = {f"a{i:03d}": 1 + i % 4 for i in range(60)}  # training folds 1-4 (fold 0 is scored)
    (lowest,) = held_out_sets(many)
    assert lowest == {a for a, f in many.items() if f == 1}  # twins share a fold, so they stay together
    assert held_out_sets({"only": 0}) == []
    assert held_out_sets(dict.fromkeys(many, 2)) == []  # one fold: nothing to hold out by fold


def test_each_fold_threshold_comes_from_its_training_articles(trained):
    data = load_training(load_project(trained.root))
    evaluation = trained.card["evaluation"]
    _, folds = cv_groups(data.articles)
    table = candidate_table(data.articles)
    thresholds = []
    for fold in sorted(set(folds.values())):
        inside = [a for a, f in folds.items() if f != fold]
        part = table[table["article_id"].isin(inside)]
        claims = data.claims[data.claims["article_id"].isin(inside)]
        labels = detection_labels(part, claims)
        thresholds.append(tune_threshold(part, labels, claims, evaluation["seed"], recorded_folds(data.articles)))
    assert evaluation["detection"]["thresholds"] == thresholds
    assert set(thresholds) <= set(GRID)
    fitted, _card = load(trained.model, load_project(trained.root).guideline_version())
    labels = detection_labels(table, data.claims)
    everything = tune_threshold(table, labels, data.claims, evaluation["seed"], recorded_folds(data.articles))
    assert fitted.estimators["detect_threshold"] == everything


def test_a_batch_predicts_what_each_article_alone_predicts(trained):
    project = load_project(trained.root)
    fitted, _card = load(trained.model, project.guideline_version())
    corpus = pd.read_json(project.corpus_file, lines=True)[["article_id", "text"]]
    together = predict(fitted, corpus)
    for row in corpus.itertuples(index=False):
        (alone,) = predict(fitted, pd.DataFrame([row._asdict()])).values()
        both = together[row.article_id]
        # the same spans, labels and answers; scores equal but for the last bits of a float sum
        assert [_without_score(s) for s in alone.spans] == [_without_score(s) for s in both.spans]
        assert [s["score"] for s in alone.spans] == pytest.approx([s["score"] for s in both.spans], abs=1e-9)
        assert {k: v[0] for k, v in alone.answers.items()} == {k: v[0] for k, v in both.answers.items()}
        assert {k: v[1] for k, v in alone.answers.items()} == pytest.approx({k: v[1] for k, v in both.answers.items()})


def _without_score(span: dict) -> dict:
    return {k: v for k, v in span.items() if k != "score"}


def test_folds_fitted_in_worker_processes_give_the_same_report(trained, monkeypatch):
    import builders.model.evaluate as evaluate

    data = load_training(load_project(trained.root))
    table = candidate_table(data.articles)
    alone = evaluate.cross_validate(data, trained.card["seed"], table)
    monkeypatch.setattr(evaluate, "PARALLEL_MIN_ARTICLES", 0)  # the pool's path on the pilot articles
    assert evaluate.cross_validate(data, trained.card["seed"], table) == alone == trained.card["evaluation"]
