"""Agreement figures from coded answers: Krippendorff's alpha and Cohen's kappa.

Answers are coded once into a units × annotators matrix of value indexes (`Coder` from the
span clusters' columns, batch by batch; `code_matrix` for the article-level tables); the figures read that matrix.
When fewer than two annotators share a unit, or only one value was ever given (alpha and
kappa are then undefined), a figure is "not available", with the reason, never 1.0.

Alpha carries a percentile bootstrap interval (`BOOTSTRAP`, declared once and written into
agreement.json): the shared units are resampled with replacement, as many as there are, and
alpha recomputed on each resample. The resamples are drawn as multinomial counts of the units'
distinct answer patterns (units that got the same number of each value weigh the same in
alpha): the same distribution as drawing units one by one, at a cost that does not grow with
the corpus. Below `min_units` shared units no interval is given, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

NOT_AVAILABLE_FEW = "fewer than two annotators labelled any shared unit"
NOT_AVAILABLE_ONE_VALUE = "only one value was given, so agreement beyond chance is undefined"


@dataclass(frozen=True)
class Bootstrap:
    """The one declaration of the alpha intervals' bootstrap (agreement.json repeats it)."""

    seed: int = 14  # a fresh generator with this seed for every figure: each interval reproducible alone
    resamples: int = 1000
    level: float = 0.95
    min_units: int = 10  # fewer shared units than this: no interval (a resample of a handful says little)

    def declared(self) -> dict:
        return {
            "seed": self.seed,
            "resamples": self.resamples,
            "level": self.level,
            "min_units": self.min_units,
            "method": "percentile bootstrap: the shared units resampled with replacement (as many as there are), "
            "alpha recomputed on each resample; resamples where alpha is undefined (one value only) are left out",
        }


BOOTSTRAP = Bootstrap()


@dataclass
class Units:
    """One label's answers, unit → {annotator: value}, plus its measurement level. The figures read
    them `coded` (see `code_matrix`). Span units come coded only, with no table: a dict per span
    unit would cost a quarter of a GB at 10,000 articles."""

    label: str
    level: str  # "nominal" | "ordinal"
    table: dict[object, dict[str, object]] | None
    coded: tuple[np.ndarray, list] | None = None  # columns: the annotators the units were made for


class Coder:
    """Collects (unit, annotator, value) answers as columns, batch by batch, and gives
    `code_matrix`'s result for them: rows in the order units first got an answer, columns the
    annotators, entries indexes into the sorted distinct values (ClassLabel codes, evidence
    ranks, 0/1). A unit is named by key columns (e.g. article, start, end) that no later batch
    repeats, so no key of the whole corpus is kept."""

    def __init__(self, n_annotators: int):
        self.n_columns = n_annotators
        self.n_rows = 0
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (row, column, value)

    def add(self, keys: list[np.ndarray], who: np.ndarray, value: np.ndarray) -> None:
        """Answers in the order given: unit key columns, annotator column, value (parallel arrays)."""
        if not len(who):
            return
        # a number per distinct key, in order of first appearance
        row = pd.DataFrame(dict(enumerate(keys))).groupby(list(range(len(keys))), sort=False).ngroup().to_numpy()
        self.parts.append((row + self.n_rows, np.asarray(who, dtype=np.int64), np.asarray(value)))
        self.n_rows += int(row.max()) + 1

    def coded(self) -> tuple[np.ndarray, list]:
        matrix = np.full((self.n_rows, self.n_columns), -1, dtype=np.int32)
        if not self.parts:
            return matrix, []
        unit, who, value = (np.concatenate(column) for column in zip(*self.parts, strict=True))
        values, code = np.unique(value, return_inverse=True)
        # one answer per (unit, annotator): the last given, as a dict would keep (a unit key
        # can come twice when two clusters start on the same offsets)
        unit, who, code = unit[::-1], who[::-1], code.reshape(-1)[::-1]
        last = np.unique(unit * self.n_columns + who, return_index=True)[1]
        matrix[unit[last], who[last]] = code[last]
        return matrix, values.tolist()


def figure(value: float | None, n_units: int, reason: str | None = None) -> dict:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {"value": None, "units": n_units, "not_available": reason or NOT_AVAILABLE_ONE_VALUE}
    return {"value": round(float(value), 4), "units": n_units}


def alpha(units: Units, coded: tuple[np.ndarray, list] | None = None, bootstrap: Bootstrap = BOOTSTRAP) -> dict:
    """Krippendorff's alpha over the units at least two annotators labelled, from `units.coded`
    (or `coded`: some of its columns, for a pair), with its bootstrap interval."""
    matrix = (units.coded if coded is None else coded)[0]
    answered = matrix >= 0
    shared = answered.sum(axis=1) >= 2
    n = int(shared.sum())
    if n == 0:
        return _no_interval(figure(None, 0, NOT_AVAILABLE_FEW), INTERVAL_NO_ALPHA)
    rows = matrix[shared]
    if len(np.unique(rows[rows >= 0])) < 2:
        return _no_interval(figure(None, n, NOT_AVAILABLE_ONE_VALUE), INTERVAL_NO_ALPHA)
    # The units' value counts, as distinct patterns with their multiplicity: alpha as the
    # krippendorff package computes it (its own coincidence loop takes seconds at 10,000
    # articles); the codes keep the values' order, which is all the nominal and ordinal metrics
    # look at.
    counts = value_counts(rows)
    patterns, multiplicity = distinct_rows(counts)
    value = alpha_of_weights(patterns, multiplicity[None, :], units.level)[0]
    return {**figure(value, n), **interval(counts, units.level, bootstrap)}


INTERVAL_NO_ALPHA = "alpha is not available"


def _no_interval(fig: dict, reason: str) -> dict:
    return {**fig, "interval": None, "interval_not_available": reason}


def value_counts(rows: np.ndarray) -> np.ndarray:
    """units × values: how many annotators gave each value (in code order) to each unit (rows of
    value codes, -1 for none; only the values that occur are columns)."""
    values = np.unique(rows[rows >= 0])
    return np.stack([(rows == v).sum(axis=1) for v in values], axis=1)


def interval(counts: np.ndarray, level: str, bootstrap: Bootstrap = BOOTSTRAP) -> dict:
    """The bootstrap interval of alpha over the units of `counts` (`value_counts`), or null
    with the reason."""
    n = len(counts)
    if n < bootstrap.min_units:
        return {"interval": None, "interval_not_available": f"only {n} shared units, fewer than {bootstrap.min_units}"}
    patterns, multiplicity = distinct_rows(counts)
    rng = np.random.default_rng(bootstrap.seed)
    weights = rng.multinomial(n, multiplicity / n, size=bootstrap.resamples)
    values = alpha_of_weights(patterns, weights, level)
    values = values[~np.isnan(values)]
    if not len(values):
        return {"interval": None, "interval_not_available": "alpha is undefined in every resample (one value only)"}
    tail = (1 - bootstrap.level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return {"interval": {"low": round(float(low), 4), "high": round(float(high), 4), "resamples": len(values)}}


def distinct_rows(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(counts, axis=0, return_counts=True)` (the same rows in the same order), through one
    integer per row: much faster on many rows. The entries are small non-negative counts, so a row
    read as a number in base max+1 orders as the rows do."""
    base = int(counts.max()) + 1
    keys = counts.astype(np.int64) @ (base ** np.arange(counts.shape[1] - 1, -1, -1, dtype=np.int64))
    _, first, multiplicity = np.unique(keys, return_index=True, return_counts=True)
    return counts[first], multiplicity


def alpha_of_weights(patterns: np.ndarray, weights: np.ndarray, level: str) -> np.ndarray:
    """Krippendorff's alpha (as the krippendorff package computes it) of each row of `weights`:
    the units being `patterns` (value counts, one row per pattern) each taken that many times.
    NaN where alpha is undefined (all pairable values alike)."""
    n_values = patterns.shape[1]
    pairable = patterns.sum(axis=1).astype(float)
    per_unit = patterns[:, :, None] * patterns[:, None, :] - patterns[:, None, :] * np.eye(n_values)
    per_unit = per_unit / (pairable - 1)[:, None, None]  # each unit's coincidences
    observed = (weights @ per_unit.reshape(len(patterns), -1)).reshape(-1, n_values, n_values)
    n_v = observed.sum(axis=1)
    total = n_v.sum(axis=1)
    expected = (n_v[:, :, None] * n_v[:, None, :] - n_v[:, None, :] * np.eye(n_values)) / (total - 1)[:, None, None]
    if level == "nominal":
        distance = np.broadcast_to(1 - np.eye(n_values), observed.shape)
    else:  # ordinal: (values between c and k, ends counted half)^2, from this resample's n_v
        index = np.arange(n_values)
        low, high = np.minimum.outer(index, index), np.maximum.outer(index, index)
        cumulative = np.concatenate([np.zeros((len(n_v), 1)), np.cumsum(n_v, axis=1)], axis=1)
        between = cumulative[:, high + 1] - cumulative[:, low]
        distance = (between - (n_v[:, :, None] + n_v[:, None, :]) / 2) ** 2
    disagreement_expected = (expected * distance).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            disagreement_expected > 0, 1 - (observed * distance).sum(axis=(1, 2)) / disagreement_expected, np.nan
        )


def code_matrix(table: dict[object, dict[str, object]], annotators: list[str]) -> tuple[np.ndarray, list]:
    """units × annotators matrix of value codes (-1: no value), and the values in code order."""
    values = sorted({x for answers in table.values() for x in answers.values()})
    codes = {v: i for i, v in enumerate(values)}
    column = {a: i for i, a in enumerate(annotators)}
    matrix = np.full((len(table), len(annotators)), -1, dtype=np.int32)
    for row, answers in enumerate(table.values()):
        for a, value in answers.items():
            matrix[row, column[a]] = codes[value]
    return matrix, values


def code_first(keys: np.ndarray, column: np.ndarray, value: np.ndarray, n_columns: int) -> tuple[np.ndarray, list]:
    """`code_matrix` of the table that keeps each (unit key, column)'s first value: rows in the
    order the keys first appear (parallel arrays: unit key, annotator column, value)."""
    row = pd.factorize(keys)[0]
    first = np.unique(row * n_columns + column, return_index=True)[1]
    values, code = np.unique(value[first], return_inverse=True)
    matrix = np.full((int(row.max(initial=-1)) + 1, n_columns), -1, dtype=np.int32)
    matrix[row[first], column[first]] = code.reshape(-1)
    return matrix, values.tolist()


def kappa(units: Units, a: str, b: str, annotators: list[str]) -> dict:
    """Cohen's kappa of two annotators on the units both labelled (linear weights for ordinal),
    from `units.coded`, whose columns follow `annotators`."""
    matrix, values = units.coded
    left, right = matrix[:, annotators.index(a)], matrix[:, annotators.index(b)]
    both = (left >= 0) & (right >= 0)
    n = int(both.sum())
    if n == 0:
        return figure(None, 0, NOT_AVAILABLE_FEW)
    left, right = left[both], right[both]
    if len(np.union1d(left, right)) < 2:
        return figure(None, n, NOT_AVAILABLE_ONE_VALUE)
    from sklearn.metrics import cohen_kappa_score  # imported here: it costs a second at start-up

    if units.level == "ordinal":  # codes follow the sorted ranks; weight by rank distance
        ranks = np.array(values, dtype=int)
        return figure(cohen_kappa_score(ranks[left], ranks[right], weights="linear"), n)
    return figure(cohen_kappa_score(left, right), n)
