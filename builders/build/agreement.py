"""Inter-annotator agreement (`khc agreement`, and the card's agreement section).

Agreement is among people: a model (an annotator named `model/VERSION`) is never a rater among
them; it is compared with each person apart (`model_vs_human`, the model's quality), and human
agreement is also given without the results people accepted unchanged from a prediction
(`independent_krippendorff_alpha`) and, all of it, for the annotations made with and without a
prediction shown (`by_prediction_shown`, builders/build/anchoring.py). Only units that at least
two of the chosen annotators labelled count:
- claim spans are matched across annotators by the aggregation rule (IoU >= 0.5, see
  aggregate.py); each cluster is a unit for `claim_type` (nominal) and `evidence`
  (ordinal by rank; `not_applicable` is left out);
- articles are the units for each risk-disclosure item (present/absent, nominal) and for
  `harms_explained` and `evidence_explained` (nominal).
Krippendorff's alpha is computed as the `krippendorff` package computes it (coding.py, over
columns; tested against the package), with a bootstrap interval over the same units
(coding.BOOTSTRAP); Cohen's kappa (pairs) from scikit-learn; span F1 per pair from
builders/build/span_agreement.py. When fewer than two annotators share a unit, or only one
value was ever given (alpha and kappa are then undefined), the figure is "not available", with
the reason, never 1.0. Every figure carries the number of units behind it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from builders.build.coding import BOOTSTRAP, Coder, Units, alpha, code_first, kappa
from builders.build.span_agreement import count_pairs, span_f1
from builders.build.spans import SpanGroups
from builders.schema import (
    ARTICLE_FAMILIES,
    CLAIM_TYPE,
    EVIDENCE,
    EVIDENCE_EXPLAINED,
    EVIDENCE_RANKS,
    HARMS_EXPLAINED,
    HUMAN,
    MODEL,
    RISK_DISCLOSURES,
)

# What agreement reads of the units table (the helper process gets only these).
AGREEMENT_UNIT_COLUMNS = [
    "article_id",
    "annotator",
    "origin",
    "parent_prediction",
    RISK_DISCLOSURES.name,
    HARMS_EXPLAINED.name,
    EVIDENCE_EXPLAINED.name,
    *(f"{family.name}_origin" for family in ARTICLE_FAMILIES),  # whether a prediction was shown
]


@dataclass
class SpanPass:
    """What one pass over every article's spans gives agreement: the units for claim_type and
    evidence, and span-matching counts per pair."""

    claim_type: Units
    evidence: Units
    pair_counts: dict[tuple[str, str], list[int]]  # (a, b) → [exact, overlap, spans]


# evidence code → rank (-1: none, for NO_LABEL and `not_applicable`); index -1 is NO_LABEL
RANK_OF_EVIDENCE = np.array([-1 if r is None else r for r in EVIDENCE_RANKS] + [-1], dtype=np.int64)


def span_pass(
    units: pd.DataFrame,
    spans: pd.DataFrame,
    annotators: list[str],
    groups: SpanGroups | None = None,
    *,
    pairs: list[tuple[str, str]] = (),
    rows: np.ndarray | None = None,
) -> SpanPass:
    """Match spans per article across `annotators` (the aggregation rule, one span per
    annotator in a unit), batch by batch of articles; code the units for claim_type and
    evidence (a unit is named by its article and its anchor's offsets), and count span matches
    for each pair of `pairs` on the articles both annotated. `rows` (a boolean per units row)
    keeps only those annotations."""
    groups = SpanGroups.of(units, spans) if groups is None else groups
    column = pd.Index(annotators).get_indexer(units["annotator"])  # -1: not among them
    owner = pd.Index(sorted(annotators)).get_indexer(units["annotator"])  # in the names' order
    keep = column >= 0 if rows is None else (column >= 0) & rows
    annotated = annotated_articles(units, groups, column, keep, len(annotators))
    pair_columns = [(annotators.index(a), annotators.index(b)) for a, b in pairs]
    type_coder, evidence_coder = Coder(len(annotators)), Coder(len(annotators))
    pair_counts = {pair: [0, 0, 0] for pair in pairs}
    for batch in groups.clusters(owner, keep, desc="agreement"):
        position = batch.span
        anchor = position[batch.bounds[:-1]][batch.of_span()]  # each span's cluster's first span
        key = [batch.group[batch.of_span()], groups.start[anchor], groups.end[anchor]]
        who = column[groups.unit[position]]
        type_coder.add(key, who, groups.claim_type[position])
        rank = RANK_OF_EVIDENCE[groups.evidence[position]]
        given = rank >= 0
        evidence_coder.add([k[given] for k in key], who[given], rank[given])
        if pair_counts:
            count_pairs(batch, groups, column, annotated, pair_columns, pair_counts)
    return SpanPass(
        Units(CLAIM_TYPE.name, "nominal", None, type_coder.coded()),
        Units(EVIDENCE.name, "ordinal", None, evidence_coder.coded()),
        pair_counts,
    )


def annotated_articles(
    units: pd.DataFrame, groups: SpanGroups, column: np.ndarray, keep: np.ndarray, n_annotators: int
) -> np.ndarray:
    """span groups × annotators: whether the annotator has a kept annotation of the group's article."""
    group = pd.Index(groups.article_ids).get_indexer(units["article_id"])  # -1: an article without spans
    chosen = keep & (group >= 0)
    annotated = np.zeros((len(groups.article_ids), n_annotators), dtype=bool)
    annotated[group[chosen], column[chosen]] = True
    return annotated


def answering(units: pd.DataFrame, annotators: list[str], rows: np.ndarray | None = None) -> pd.DataFrame:
    """The annotations of `annotators` (and of `rows`, if given) that judged the article at all."""
    keep = units["annotator"].isin(annotators).to_numpy()
    chosen = units[keep if rows is None else keep & rows]
    return chosen[chosen[RISK_DISCLOSURES.name].map(lambda v: isinstance(v, list)).astype(bool)]


def article_answers(units: pd.DataFrame, annotators: list[str], rows: np.ndarray | None = None) -> list[Units]:
    """The article-level labels' units (articles) of `annotators` (and of `rows`, if given), coded
    (columns in `annotators` order): an annotator's first answer to an article counts."""
    chosen = answering(units, annotators, rows)
    article, column = chosen["article_id"].to_numpy(), pd.Index(annotators).get_indexer(chosen["annotator"])
    checklists = chosen[RISK_DISCLOSURES.name].tolist()
    ticked = np.zeros((len(chosen), len(RISK_DISCLOSURES.names)), dtype=np.int64)  # annotations × items
    items = np.fromiter(itertools.chain.from_iterable(checklists), dtype=np.int64)
    ticked[np.repeat(np.arange(len(chosen)), [len(c) for c in checklists]), items] = 1
    out = [
        Units(
            f"{RISK_DISCLOSURES.name}.{item}",
            "nominal",
            None,
            code_first(article, column, ticked[:, code], len(annotators)),
        )
        for code, item in enumerate(RISK_DISCLOSURES.names)
    ]
    for family in (HARMS_EXPLAINED, EVIDENCE_EXPLAINED):
        given = chosen[family.name].notna().to_numpy()
        values = chosen[family.name][given].to_numpy(dtype=np.int64)
        out.append(
            Units(family.name, "nominal", None, code_first(article[given], column[given], values, len(annotators)))
        )
    return out


@dataclass
class Answers:
    """Every label's answers of `annotators`, coded (`code_matrix`, columns in `annotators`
    order), and the span-matching counts per pair: all that the figures need, compact enough
    to come back from the build's helper process."""

    annotators: list[str]
    units: list[Units]
    pair_counts: dict[tuple[str, str], list[int]]
    kappas: dict[tuple[str, str], dict[str, dict]] | None = None  # `kappas(self)`, if computed already
    versus: list[dict] | None = None  # `model_versus_human(...)`: each model against each person
    counts: dict[str, int] | None = None  # a group's size (anchoring.by_prediction_shown)
    by_prediction: dict[str, Answers] | None = None  # the same, with and without a prediction shown


def kappas(found: Answers) -> dict[tuple[str, str], dict[str, dict]]:
    """Cohen's kappa of every pair of annotators, per label."""
    return {
        (a, b): {u.label: kappa(u, a, b, found.annotators) for u in found.units}
        for a, b in itertools.combinations(found.annotators, 2)
    }


def answers(
    units: pd.DataFrame,
    spans: pd.DataFrame,
    annotators: list[str] | None = None,
    groups: SpanGroups | None = None,
    rows: np.ndarray | None = None,
) -> Answers:
    """Collect and code the answers of `annotators` (default: the people; a model is never a rater
    among them). `groups` is `SpanGroups.of(units, spans)` if the caller has it; `rows` (a
    boolean per units row) keeps only those annotations."""
    annotators = sorted(annotators or people(units, rows))
    pairs = list(itertools.combinations(annotators, 2))
    found = span_pass(units, spans, annotators, groups, pairs=pairs, rows=rows)
    coded = article_answers(units, annotators, rows)
    return Answers(annotators, [found.claim_type, found.evidence, *coded], found.pair_counts)


def people(units: pd.DataFrame, rows: np.ndarray | None = None) -> list[str]:
    """The people who annotated (of `rows`, if given)."""
    return _who(units, HUMAN, rows)


def _who(units: pd.DataFrame, origin: int, rows: np.ndarray | None) -> list[str]:
    mine = (units["origin"] == origin).to_numpy() if len(units) else np.zeros(0, bool)
    return sorted(units.loc[mine if rows is None else mine & rows, "annotator"].unique()) if len(units) else []


def model_versus_human(
    units: pd.DataFrame, spans: pd.DataFrame, groups: SpanGroups | None = None, rows: np.ndarray | None = None
) -> list[dict]:
    """Each model against each person, on the units both labelled (the model's quality, never
    agreement among people): span F1 and Cohen's kappa per label; of `rows` only, if given."""
    models, humans = _who(units, MODEL, rows), people(units, rows)
    if not models or not humans:
        return []
    pairs = [(m, h) for m in models for h in humans]
    found = answers(units, spans, sorted(models + humans), groups, rows)
    return [
        {
            "annotators": [m, h],
            "span_f1": span_f1(found.pair_counts[tuple(sorted((m, h)))]),
            "cohen_kappa": {u.label: kappa(u, m, h, found.annotators) for u in found.units},
        }
        for m, h in pairs
    ]


def report(found: Answers, *, pair_alpha: bool = False, _alphas: dict | None = None) -> dict:
    """The agreement figures as a JSON-ready dict. Alpha is given for the whole set; per pair only
    with `pair_alpha` (kappa is the pairwise figure). A group that shares its units with the whole
    set (anchoring.by_prediction_shown) reuses its alphas."""
    annotators = found.annotators
    _alphas = {} if _alphas is None else _alphas
    for u in found.units:
        if id(u) not in _alphas:
            _alphas[id(u)] = (u, alpha(u))  # u kept, so its id is not reused meanwhile
    overall = {u.label: _alphas[id(u)][1] for u in found.units}
    pair_kappas = found.kappas if found.kappas is not None else kappas(found)
    pairs = []
    for a, b in itertools.combinations(annotators, 2):
        pair = {
            "annotators": [a, b],
            "span_f1": span_f1(found.pair_counts[(a, b)]),
            "cohen_kappa": pair_kappas[(a, b)],
        }
        if pair_alpha:
            columns = [annotators.index(a), annotators.index(b)]
            pair["krippendorff_alpha"] = {u.label: alpha(u, (u.coded[0][:, columns], u.coded[1])) for u in found.units}
        pairs.append(pair)
    out = {
        "annotators": annotators,
        "krippendorff_alpha": overall,
        "pairs": pairs,
        "model_vs_human": found.versus or [],
    }
    if found.counts is not None:  # a group of by_prediction_shown
        return {**found.counts, **out}
    if found.by_prediction is not None:
        out["by_prediction_shown"] = {
            name: report(group, pair_alpha=pair_alpha, _alphas=_alphas) for name, group in found.by_prediction.items()
        }
        from builders.build.anchoring import PREDICTION_SHOWN_RULE  # it builds on this module

        out["prediction_shown_rule"] = PREDICTION_SHOWN_RULE
    out["bootstrap"] = BOOTSTRAP.declared()
    out["method"] = (
        "Krippendorff's alpha (krippendorff package) with a bootstrap interval (see bootstrap), Cohen's kappa "
        "(scikit-learn; linear weights for evidence); span F1 per pair by identical offsets (exact) and one-to-one "
        "at IoU >= 0.5 (overlap); spans matched into units at IoU >= 0.5; evidence 'not_applicable' excluded; "
        "among people only (a model is compared with each person under model_vs_human, never counted as a rater)"
    )
    return out


def agreement(
    units: pd.DataFrame,
    spans: pd.DataFrame,
    annotators: list[str] | None = None,
    *,
    pair_alpha: bool = False,
    groups: SpanGroups | None = None,
) -> dict:
    """Agreement of `annotators` (default: the people, with each model compared to each person
    apart, and all of it again with and without a prediction shown) as a JSON-ready dict:
    `report(answers(...))`."""
    from builders.build.anchoring import by_prediction_shown  # it builds on this module

    groups = SpanGroups.of(units, spans) if groups is None else groups
    found = answers(units, spans, annotators, groups)
    if annotators is None:
        found.versus = model_versus_human(units, spans, groups)
        found.by_prediction = by_prediction_shown(units, spans, groups, found)
    return report(found, pair_alpha=pair_alpha)
