"""Inter-annotator agreement (`khc agreement`, and the card's agreement section).

Agreement is among people: a model (an annotator named `model/VERSION`) is never a rater among
them; it is compared with each person apart (`model_vs_human`, the model's quality), and human
agreement is also given without the results people accepted unchanged from a prediction
(`independent_krippendorff_alpha`). Only units that at least two of the chosen annotators labelled count:
- claim spans are matched across annotators by the aggregation rule (IoU >= 0.5, see
  aggregate.py); each cluster is a unit for `claim_type` (nominal) and `evidence`
  (ordinal by rank; `not_applicable` is left out);
- articles are the units for each risk-disclosure item (present/absent, nominal) and for
  `harms_explained` and `evidence_explained` (nominal).
Krippendorff's alpha comes from the `krippendorff` package; Cohen's kappa (pairs) from
scikit-learn. When fewer than two annotators share a unit, or only one value was ever
given (alpha and kappa are then undefined), the figure is "not available", with the
reason, never 1.0. Every figure carries the number of units behind it.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

import pandas as pd

from builders.build.coding import NOT_AVAILABLE_FEW, Coder, Units, alpha, code_matrix, figure, kappa
from builders.build.labels import codes_or_none
from builders.build.spans import SpanGroups, match_spans
from builders.schema import (
    ACCEPTED_UNCHANGED,
    ARTICLE_FAMILIES,
    CLAIM_TYPE,
    EVIDENCE,
    EVIDENCE_EXPLAINED,
    EVIDENCE_RANKS,
    HARMS_EXPLAINED,
    HUMAN,
    MODEL,
    NO_LABEL,
    RISK_DISCLOSURES,
)

# What agreement reads of the units table (the helper process gets only these).
AGREEMENT_UNIT_COLUMNS = [
    "article_id",
    "annotator",
    "origin",
    RISK_DISCLOSURES.name,
    HARMS_EXPLAINED.name,
    EVIDENCE_EXPLAINED.name,
]


@dataclass
class SpanPass:
    """What one pass over every article's spans gives agreement: the units for claim_type and
    evidence, span-matching counts per pair, and (if asked) the clusters themselves."""

    claim_type: Units
    evidence: Units
    pair_counts: dict[tuple[str, str], list[int]]  # (a, b) → [exact, overlap, spans]
    clusters: list[dict]


def span_pass(
    units: pd.DataFrame,
    spans: pd.DataFrame,
    annotators: list[str],
    groups: SpanGroups | None = None,
    *,
    pairs: list[tuple[str, str]] = (),
    keep_clusters: bool = False,
) -> SpanPass:
    """Match spans per article across `annotators` (the aggregation rule); fill the units for
    claim_type and evidence, count span matches for each pair of `pairs` on the articles both
    annotated, and keep the clusters when `keep_clusters` (the disagreement list needs them)."""
    groups = SpanGroups.of(units, spans) if groups is None else groups
    names = units["annotator"].tolist()
    keep = units["annotator"].isin(annotators).to_numpy()
    annotated = units.groupby("annotator")["article_id"].agg(set).to_dict() if len(units) else {}
    type_coder, evidence_coder = Coder(annotators), Coder(annotators)
    pair_counts = {pair: [0, 0, 0] for pair in pairs}
    clusters_out = []
    for article in groups.articles(keep, desc="agreement"):
        who = [names[u] for u in article.unit]  # one owner per annotator, not per annotation
        type_coder.next_article()
        evidence_coder.next_article()
        for cluster in match_spans(article.start, article.end, who):
            unit = (article.start[cluster[0]], article.end[cluster[0]])  # the anchor names the unit
            if keep_clusters:
                clusters_out.append({"article": article, "who": who, "cluster": cluster})
            types, ranks = {}, {}
            for i in cluster:  # one span per annotator
                types[who[i]] = article.claim_type[i]
                rank = EVIDENCE_RANKS[article.evidence[i]] if article.evidence[i] != NO_LABEL else None
                if rank is not None:
                    ranks[who[i]] = rank
            type_coder.add(unit, types)
            if ranks:
                evidence_coder.add(unit, ranks)
        if pair_counts:
            _count_pairs(article.article_id, article, who, annotated, pair_counts)
    return SpanPass(
        Units(CLAIM_TYPE.name, "nominal", None, type_coder.coded()),
        Units(EVIDENCE.name, "ordinal", None, evidence_coder.coded()),
        pair_counts,
        clusters_out,
    )


def _count_pairs(article_id: str, article, who: list[str], annotated: dict, pair_counts: dict) -> None:
    """Add one article's exact and overlap span matches to each pair that annotated it."""
    by_annotator: dict[str, list[tuple[int, int]]] = {}
    for i, annotator in enumerate(who):
        by_annotator.setdefault(annotator, []).append((article.start[i], article.end[i]))
    for (a, b), figures in pair_counts.items():
        if article_id in annotated.get(a, ()) and article_id in annotated.get(b, ()):
            left, right = by_annotator.get(a, []), by_annotator.get(b, [])
            exact, overlap = _match_pair(left, right)
            figures[0] += exact
            figures[1] += overlap
            figures[2] += len(left) + len(right)


def article_units(units: pd.DataFrame, annotators: list[str]) -> list[Units]:
    chosen = units[units["annotator"].isin(annotators)]
    answered = chosen[RISK_DISCLOSURES.name].map(lambda v: isinstance(v, list)).astype(bool)  # judged the article
    chosen = chosen[answered]
    articles, annotators_ = chosen["article_id"].tolist(), chosen["annotator"].tolist()
    checklists = chosen[RISK_DISCLOSURES.name].tolist()
    out = []
    for code, item in enumerate(RISK_DISCLOSURES.names):
        table: dict[object, dict[str, object]] = {}
        for article_id, annotator, items in zip(articles, annotators_, checklists, strict=True):
            table.setdefault(article_id, {}).setdefault(annotator, int(code in items))
        out.append(Units(f"{RISK_DISCLOSURES.name}.{item}", "nominal", table))
    for family in (HARMS_EXPLAINED, EVIDENCE_EXPLAINED):
        table = {}
        for article_id, annotator, value in zip(articles, annotators_, codes_or_none(chosen[family.name]), strict=True):
            if value is not None:
                table.setdefault(article_id, {}).setdefault(annotator, int(value))
        out.append(Units(family.name, "nominal", table))
    return out


def _match_pair(left: list[tuple[int, int]], right: list[tuple[int, int]]) -> tuple[int, int]:
    """(exact, overlap): how many of `left`'s spans (in span order) have an identical span in
    `right`, and how many match one of `right`'s spans at IoU >= 0.5, each right span taken once."""
    if not left or not right:
        return 0, 0
    right = sorted(right)
    right_exact = set(right)
    starts = [rs for rs, _ in right]
    longest = max(re_ - rs for rs, re_ in right)
    taken: set[int] = set()
    exact = overlap = 0
    for start, end in left:
        exact += (start, end) in right_exact
        best, best_i = 0.0, -1
        i = bisect.bisect_left(starts, end) - 1  # right spans that start before this one ends
        while i >= 0 and starts[i] + longest > start:
            if i not in taken:
                right_start, right_end = right[i]  # iou(), written out: this loop runs millions of times
                shared = (end if end < right_end else right_end) - (start if start > right_start else right_start)
                if shared > 0:
                    score = shared / (
                        (end if end > right_end else right_end) - (start if start < right_start else right_start)
                    )
                    if score > best:
                        best, best_i = score, i
            i -= 1
        if best >= 0.5:
            overlap += 1
            taken.add(best_i)
    return exact, overlap


def span_matching(counts: list[int]) -> dict:
    """Share of two annotators' spans, on the articles both annotated, that match exactly / by
    overlap, from `SpanPass.pair_counts`. Matched spans count once for each side: a Dice-style
    share of all spans."""
    exact, overlap, total = counts
    if total == 0:
        return {"exact": figure(None, 0, NOT_AVAILABLE_FEW), "overlap": figure(None, 0, NOT_AVAILABLE_FEW)}
    return {"exact": figure(2 * exact / total, total), "overlap": figure(2 * overlap / total, total)}


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


def kappas(found: Answers) -> dict[tuple[str, str], dict[str, dict]]:
    """Cohen's kappa of every pair of annotators, per label."""
    return {
        (a, b): {u.label: kappa(u, a, b, found.annotators) for u in found.units}
        for a, b in itertools.combinations(found.annotators, 2)
    }


def answers(
    units: pd.DataFrame, spans: pd.DataFrame, annotators: list[str] | None = None, groups: SpanGroups | None = None
) -> Answers:
    """Collect and code the answers of `annotators` (default: the people; a model is never a rater
    among them). `groups` is `SpanGroups.of(units, spans)` if the caller has it."""
    annotators = sorted(annotators or people(units))
    found = span_pass(units, spans, annotators, groups, pairs=list(itertools.combinations(annotators, 2)))
    coded = [Units(u.label, u.level, None, code_matrix(u.table, annotators)) for u in article_units(units, annotators)]
    return Answers(annotators, [found.claim_type, found.evidence, *coded], found.pair_counts)


def people(units: pd.DataFrame) -> list[str]:
    return sorted(units.loc[units["origin"] == HUMAN, "annotator"].unique()) if len(units) else []


def model_versus_human(units: pd.DataFrame, spans: pd.DataFrame, groups: SpanGroups | None = None) -> list[dict]:
    """Each model against each person, on the units both labelled (the model's quality, never
    agreement among people): span matching and Cohen's kappa per label."""
    models = sorted(units.loc[units["origin"] == MODEL, "annotator"].unique()) if len(units) else []
    humans = people(units)
    if not models or not humans:
        return []
    pairs = [(m, h) for m in models for h in humans]
    found = answers(units, spans, sorted(models + humans), groups)
    return [
        {
            "annotators": [m, h],
            "span_matching": span_matching(found.pair_counts[tuple(sorted((m, h)))]),
            "cohen_kappa": {u.label: kappa(u, m, h, found.annotators) for u in found.units},
        }
        for m, h in pairs
    ]


def report(found: Answers, *, pair_alpha: bool = False) -> dict:
    """The agreement figures as a JSON-ready dict. Alpha is given for the whole set; per pair only
    with `pair_alpha` (kappa is the pairwise figure)."""
    annotators = found.annotators
    overall = {u.label: alpha(u) for u in found.units}
    pair_kappas = found.kappas if found.kappas is not None else kappas(found)
    pairs = []
    for a, b in itertools.combinations(annotators, 2):
        pair = {
            "annotators": [a, b],
            "span_matching": span_matching(found.pair_counts[(a, b)]),
            "cohen_kappa": pair_kappas[(a, b)],
        }
        if pair_alpha:
            columns = [annotators.index(a), annotators.index(b)]
            pair["krippendorff_alpha"] = {u.label: alpha(u, (u.coded[0][:, columns], u.coded[1])) for u in found.units}
        pairs.append(pair)
    return {
        "annotators": annotators,
        "krippendorff_alpha": overall,
        "pairs": pairs,
        "model_vs_human": found.versus or [],
        "method": "Krippendorff's alpha (krippendorff package), Cohen's kappa (scikit-learn; linear weights "
        "for evidence); spans matched at IoU >= 0.5; evidence 'not_applicable' excluded; among people only "
        "(a model is compared with each person under model_vs_human, never counted as a rater)",
    }


def without_accepted_predictions(units: pd.DataFrame, spans: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The people's labels without the results they accepted unchanged from a prediction (None when
    there are none): what "independent" human agreement is computed on."""
    accepted_spans = spans["result_origin"] == ACCEPTED_UNCHANGED
    answers_origin = {f.name: units[f"{f.name}_origin"] == ACCEPTED_UNCHANGED for f in ARTICLE_FAMILIES}
    if not accepted_spans.any() and not any(o.any() for o in answers_origin.values()):
        return None
    units = units.copy()
    for name, accepted in answers_origin.items():
        units.loc[accepted.fillna(False).to_numpy(bool), name] = None
    return units, spans[~accepted_spans].reset_index(drop=True)


def agreement(
    units: pd.DataFrame,
    spans: pd.DataFrame,
    annotators: list[str] | None = None,
    *,
    pair_alpha: bool = False,
    groups: SpanGroups | None = None,
) -> dict:
    """Agreement of `annotators` (default: the people, with each model compared to each person
    apart) as a JSON-ready dict: `report(answers(...))`."""
    found = answers(units, spans, annotators, groups)
    if annotators is None:
        found.versus = model_versus_human(units, spans, groups)
    return report(found, pair_alpha=pair_alpha)
