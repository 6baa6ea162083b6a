"""Krippendorff's alpha with its bootstrap interval (builders/build/coding.py): each resample's alpha
is the krippendorff package's, the interval is the percentile of alpha over units resampled with
replacement, the seed and the number of resamples are declared once, and too few units give no
interval, with the reason (never NaN)."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pytest

from builders.build.agreement import agreement
from builders.build.agreement_card import agreement_markdown
from builders.build.coding import BOOTSTRAP, alpha_of_weights, value_counts
from builders.schema import HARMS_EXPLAINED
from tests.build.test_agreement import article_units

VALUES = ["satisfactory", "not_satisfactory", "not_applicable"]


def noisy_answers(n_articles: int, seed: int, annotators: int = 3) -> dict[str, list[str | None]]:
    """Annotators who mostly agree on harms_explained, some answers missing."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(VALUES, size=n_articles)
    out = {}
    for k in range(annotators):
        answers = [str(rng.choice(VALUES)) if rng.random() < 0.25 else str(t) for t in truth]
        out[f"ann-{k}"] = [None if rng.random() < 0.15 else a for a in answers]
    return out


def reliability(answers: dict[str, list[str | None]]) -> np.ndarray:
    """annotators × units matrix of value codes (NaN: no answer), units that two or more annotators
    answered; the codes in the order of the label's ClassLabel codes, as the build codes them."""
    codes = HARMS_EXPLAINED.codes
    data = np.array([[codes[v] if v else np.nan for v in values] for values in answers.values()], dtype=float)
    return data[:, (~np.isnan(data)).sum(axis=0) >= 2]


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_each_resamples_alpha_is_the_krippendorff_packages(level):
    rng = np.random.default_rng(5)
    for _ in range(25):
        rows = rng.integers(-1, 5, size=(30, 4))
        rows = rows[(rows >= 0).sum(axis=1) >= 2]
        counts = value_counts(rows)
        patterns, multiplicity = np.unique(counts, axis=0, return_counts=True)
        weights = np.vstack([multiplicity, rng.integers(0, 4, size=(6, len(patterns)))])
        found = alpha_of_weights(patterns, weights, level)
        for got, w in zip(found, weights, strict=True):
            try:
                expected = krippendorff.alpha(value_counts=np.repeat(patterns, w, axis=0), level_of_measurement=level)
            except ValueError:  # no unit pairable: undefined
                expected = np.nan
            assert got == pytest.approx(expected, nan_ok=True, abs=1e-12)


def test_the_interval_is_the_percentile_of_alpha_over_resampled_units():
    answers = noisy_answers(60, seed=1)
    figure = agreement(*article_units(answers))["krippendorff_alpha"]["harms_explained"]
    data = reliability(answers)
    assert figure["units"] == data.shape[1]
    # The draw the build makes: the multinomial counts of the units' distinct answer patterns; each
    # resample rebuilt as units and handed to the krippendorff package.
    counts = value_counts(np.nan_to_num(data.T, nan=-1).astype(int))
    patterns, multiplicity = np.unique(counts, axis=0, return_counts=True)
    rng = np.random.default_rng(BOOTSTRAP.seed)
    draws = rng.multinomial(len(counts), multiplicity / len(counts), size=BOOTSTRAP.resamples)
    alphas = [
        krippendorff.alpha(value_counts=np.repeat(patterns, w, axis=0), level_of_measurement="nominal") for w in draws
    ]
    tail = (1 - BOOTSTRAP.level) / 2
    low, high = np.quantile(alphas, [tail, 1 - tail])
    assert figure["interval"] == {"low": round(low, 4), "high": round(high, 4), "resamples": BOOTSTRAP.resamples}
    assert figure["interval"]["low"] <= figure["value"] <= figure["interval"]["high"]


def test_drawing_patterns_is_resampling_units_one_by_one():
    """The multinomial draw has the distribution of drawing units with replacement: a plain
    bootstrap over the units (indexes drawn one by one) gives nearly the same interval."""
    answers = noisy_answers(80, seed=2)
    figure = agreement(*article_units(answers))["krippendorff_alpha"]["harms_explained"]
    data = reliability(answers)
    rng = np.random.default_rng(99)
    plain = []
    for _ in range(2000):
        sample = data[:, rng.integers(0, data.shape[1], size=data.shape[1])]
        plain.append(krippendorff.alpha(reliability_data=sample, level_of_measurement="nominal"))
    low, high = np.quantile(plain, [0.025, 0.975])
    assert figure["interval"]["low"] == pytest.approx(low, abs=0.04)
    assert figure["interval"]["high"] == pytest.approx(high, abs=0.04)


def test_seed_and_resamples_are_declared_once_and_reported():
    units, spans = article_units(noisy_answers(40, seed=3))
    first, again = agreement(units, spans), agreement(units, spans)
    assert first["bootstrap"] == BOOTSTRAP.declared() == again["bootstrap"]
    assert first["krippendorff_alpha"] == again["krippendorff_alpha"]  # seeded: the same interval every time
    markdown = agreement_markdown(first)
    assert f"{BOOTSTRAP.resamples} resamples" in markdown and f"seed {BOOTSTRAP.seed}" in markdown


def test_too_few_units_give_no_interval_with_the_reason_and_no_nan():
    n = BOOTSTRAP.min_units - 1
    answers = noisy_answers(n, seed=4, annotators=2)
    answers = {a: [v or VALUES[0] for v in values] for a, values in answers.items()}  # every unit shared
    answers["ann-1"][0] = VALUES[1] if answers["ann-0"][0] != VALUES[1] else VALUES[0]  # two values at least
    report = agreement(*article_units(answers))
    figure = report["krippendorff_alpha"]["harms_explained"]
    assert figure["units"] == n and figure["value"] is not None
    assert figure["interval"] is None and f"fewer than {BOOTSTRAP.min_units}" in figure["interval_not_available"]
    no_alpha = report["krippendorff_alpha"]["evidence_explained"]  # nobody answered it
    assert no_alpha["interval"] is None and no_alpha["interval_not_available"]
    text = json.dumps(report) + agreement_markdown(report)
    assert "nan" not in text.lower().replace("not_satisfactory", "")


def test_every_alpha_has_an_interval_or_a_reason(tmp_path):
    report = agreement(*article_units(noisy_answers(30, seed=6)), pair_alpha=True)
    figures = [*report["krippendorff_alpha"].values()] + [
        f for p in report["pairs"] for f in p["krippendorff_alpha"].values()
    ]
    for fig in figures:
        assert ("interval" in fig) and (fig["interval"] is not None or fig["interval_not_available"])


def test_distinct_rows_are_numpys_unique_rows_in_its_order():
    from builders.build.coding import distinct_rows

    rng = np.random.default_rng(8)
    for _ in range(30):
        counts = rng.integers(0, 4, size=(int(rng.integers(1, 200)), int(rng.integers(2, 8))))
        patterns, multiplicity = distinct_rows(counts)
        expected_patterns, expected_multiplicity = np.unique(counts, axis=0, return_counts=True)
        assert (patterns == expected_patterns).all() and (multiplicity == expected_multiplicity).all()


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_alpha_is_the_krippendorff_packages_on_the_annotators_matrix(level):
    """The point estimate (computed over columns, as every resample is) is the package's alpha
    on the annotators × units data, to far below the printed digits."""
    from builders.build.coding import Units, alpha

    rng = np.random.default_rng(21)
    for _ in range(40):
        matrix = rng.integers(-1, int(rng.integers(2, 6)), size=(int(rng.integers(12, 300)), 4)).astype(np.int32)
        shared = matrix[(matrix >= 0).sum(axis=1) >= 2]
        if len(np.unique(shared[shared >= 0])) < 2:
            continue
        data = shared.T.astype(float)
        data[data < 0] = np.nan
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        got = alpha(Units("x", level, None, (matrix, [])))
        assert got["units"] == len(shared)
        assert got["value"] == round(expected, 4)
        from builders.build.coding import alpha_of_weights, distinct_rows

        patterns, multiplicity = distinct_rows(value_counts(shared))
        assert alpha_of_weights(patterns, multiplicity[None, :], level)[0] == pytest.approx(expected, abs=1e-12)
