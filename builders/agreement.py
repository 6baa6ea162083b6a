"""Inter-annotator agreement (`khc agreement`, and the card's agreement section).

Annotators are humans and models alike (a model is an annotator named `model/VERSION`).
Only units that at least two of the chosen annotators labelled count:
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

import itertools
import math
from dataclasses import dataclass

import krippendorff
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from builders.aggregate import iou, match_spans
from builders.schema import (
    CLAIM_TYPE,
    EVIDENCE,
    EVIDENCE_EXPLAINED,
    HARMS_EXPLAINED,
    RISK_DISCLOSURES,
    evidence_rank,
)

NOT_AVAILABLE_FEW = "fewer than two annotators labelled any shared unit"
NOT_AVAILABLE_ONE_VALUE = "only one value was given, so agreement beyond chance is undefined"


@dataclass
class Units:
    """Long table of (unit, annotator, value) for one label, plus its measurement level."""

    label: str
    level: str  # "nominal" | "ordinal"
    rows: pd.DataFrame  # columns: unit, annotator, value


def _figure(value: float | None, n_units: int, reason: str | None = None) -> dict:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {"value": None, "units": n_units, "not_available": reason or NOT_AVAILABLE_ONE_VALUE}
    return {"value": round(float(value), 4), "units": n_units}


def shared(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of units that at least two annotators gave a value for."""
    counts = rows.groupby("unit")["annotator"].transform("nunique")
    return rows[counts >= 2]


def alpha(units: Units, annotators: list[str]) -> dict:
    rows = shared(units.rows[units.rows["annotator"].isin(annotators)])
    n_units = rows["unit"].nunique()
    if n_units == 0:
        return _figure(None, 0, NOT_AVAILABLE_FEW)
    if rows["value"].nunique() < 2:
        return _figure(None, n_units, NOT_AVAILABLE_ONE_VALUE)
    codes = {v: i for i, v in enumerate(sorted(rows["value"].unique()))}
    matrix = rows.assign(code=rows["value"].map(codes)).pivot_table(
        index="annotator", columns="unit", values="code", aggfunc="first"
    )
    data = matrix.to_numpy(dtype=float)
    return _figure(krippendorff.alpha(reliability_data=data, level_of_measurement=units.level), n_units)


def kappa(units: Units, a: str, b: str) -> dict:
    rows = units.rows[units.rows["annotator"].isin([a, b])]
    wide = rows.pivot_table(index="unit", columns="annotator", values="value", aggfunc="first").dropna()
    if a not in wide or b not in wide or wide.empty:
        return _figure(None, 0, NOT_AVAILABLE_FEW)
    if len(set(wide[a]) | set(wide[b])) < 2:
        return _figure(None, len(wide), NOT_AVAILABLE_ONE_VALUE)
    if units.level == "ordinal":  # ranks: linear weights credit near misses
        value = cohen_kappa_score(wide[a].astype(int), wide[b].astype(int), weights="linear")
    else:
        value = cohen_kappa_score(wide[a].astype(str), wide[b].astype(str))
    return _figure(value, len(wide))


def span_units(units: pd.DataFrame, spans: pd.DataFrame, annotators: list[str]) -> tuple[Units, Units, pd.DataFrame]:
    """Match spans per article across `annotators`; units for claim_type and evidence."""
    chosen = units.loc[units["annotator"].isin(annotators), ["annotation_uid", "article_id", "annotator"]]
    joined = spans.merge(chosen, on="annotation_uid", how="inner").sort_values(
        ["article_id", "start", "end", "annotation_uid"]
    )
    type_rows, evidence_rows, clusters_out = [], [], []
    for article_id, group in joined.groupby("article_id", sort=True):
        records = list(group.itertuples(index=False))
        for cluster in match_spans([(r.start, r.end, r.annotator) for r in records]):
            members = [records[i] for i in cluster]
            anchor = members[0]
            unit = f"{article_id}:{anchor.start}-{anchor.end}"
            clusters_out.append({"article_id": article_id, "unit": unit, "members": members})
            for m in members:
                type_rows.append((unit, m.annotator, getattr(m, CLAIM_TYPE.name)))
                rank = evidence_rank(m.evidence) if isinstance(m.evidence, str) else None
                if rank is not None:
                    evidence_rows.append((unit, m.annotator, rank))
    columns = ["unit", "annotator", "value"]
    return (
        Units(CLAIM_TYPE.name, "nominal", pd.DataFrame(type_rows, columns=columns)),
        Units(EVIDENCE.name, "ordinal", pd.DataFrame(evidence_rows, columns=columns)),
        pd.DataFrame(clusters_out),
    )


def article_units(units: pd.DataFrame, annotators: list[str]) -> list[Units]:
    chosen = units[units["annotator"].isin(annotators)]
    chosen = chosen[chosen[RISK_DISCLOSURES.name].map(lambda v: isinstance(v, list))]  # answered the article
    out = []
    for item in RISK_DISCLOSURES.names:
        rows = pd.DataFrame(
            {
                "unit": chosen["article_id"],
                "annotator": chosen["annotator"],
                "value": chosen[RISK_DISCLOSURES.name].map(lambda items, i=item: int(i in items)),
            }
        )
        out.append(Units(f"{RISK_DISCLOSURES.name}.{item}", "nominal", rows))
    for family in (HARMS_EXPLAINED, EVIDENCE_EXPLAINED):
        rows = pd.DataFrame(
            {"unit": chosen["article_id"], "annotator": chosen["annotator"], "value": chosen[family.name]}
        )
        out.append(Units(family.name, "nominal", rows.dropna(subset=["value"])))
    return out


def span_matching(spans: pd.DataFrame, units: pd.DataFrame, a: str, b: str) -> dict:
    """Share of the two annotators' spans (on articles both labelled) that match exactly / by overlap."""
    chosen = units[units["annotator"].isin([a, b])]
    both = chosen.groupby("article_id")["annotator"].nunique()
    articles = set(both[both == 2].index)
    joined = spans.merge(chosen[["annotation_uid", "article_id", "annotator"]], on="annotation_uid", how="inner")
    joined = joined[joined["article_id"].isin(articles)]
    total = len(joined)
    if not articles or total == 0:
        return {"exact": _figure(None, 0, NOT_AVAILABLE_FEW), "overlap": _figure(None, 0, NOT_AVAILABLE_FEW)}
    exact = overlap = 0
    for _article, group in joined.groupby("article_id"):
        left = group[group["annotator"] == a][["start", "end"]].itertuples(index=False)
        right = list(group[group["annotator"] == b][["start", "end"]].itertuples(index=False))
        right_exact = {(r.start, r.end) for r in right}
        taken: set[int] = set()
        for span in left:
            exact += (span.start, span.end) in right_exact
            best = max(
                ((iou(span.start, span.end, r.start, r.end), i) for i, r in enumerate(right) if i not in taken),
                default=(0.0, -1),
            )
            if best[0] >= 0.5:
                overlap += 1
                taken.add(best[1])
    # Matched spans count once for each side: a Dice-style share of all spans.
    return {"exact": _figure(2 * exact / total, total), "overlap": _figure(2 * overlap / total, total)}


def agreement(units: pd.DataFrame, spans: pd.DataFrame, annotators: list[str] | None = None) -> dict:
    """Agreement of `annotators` (default: everyone) as a JSON-ready dict."""
    everyone = sorted(units["annotator"].unique()) if len(units) else []
    annotators = sorted(annotators or everyone)
    type_units, evidence_units, _ = span_units(units, spans, annotators)
    all_units = [type_units, evidence_units, *article_units(units, annotators)]
    overall = {u.label: alpha(u, annotators) for u in all_units}
    pairs = []
    for a, b in itertools.combinations(annotators, 2):
        pairs.append(
            {
                "annotators": [a, b],
                "span_matching": span_matching(spans, units, a, b),
                "krippendorff_alpha": {u.label: alpha(u, [a, b]) for u in all_units},
                "cohen_kappa": {u.label: kappa(u, a, b) for u in all_units},
            }
        )
    return {
        "annotators": annotators,
        "krippendorff_alpha": overall,
        "pairs": pairs,
        "method": "Krippendorff's alpha (krippendorff package), Cohen's kappa (scikit-learn; linear weights "
        "for evidence); spans matched at IoU >= 0.5; evidence 'not_applicable' excluded",
    }


def disagreements(units: pd.DataFrame, spans: pd.DataFrame, annotators: list[str] | None = None) -> pd.DataFrame:
    """Units where the annotators who share them differ, for an adjudicator to work through."""
    everyone = sorted(units["annotator"].unique()) if len(units) else []
    annotators = sorted(annotators or everyone)
    per_article = units[units["annotator"].isin(annotators)].groupby("article_id")["annotator"].apply(sorted)
    rows = []
    _t, _e, clusters = span_units(units, spans, annotators)
    for cluster in clusters.itertuples(index=False):
        present = per_article[cluster.article_id]
        if len(present) < 2:
            continue
        labels = {m.annotator: f"{getattr(m, CLAIM_TYPE.name)}/{m.evidence}" for m in cluster.members}
        if len(labels) < len(present) or len(set(labels.values())) > 1:
            anchor = cluster.members[0]
            rows.append(
                {
                    "article_id": cluster.article_id,
                    "unit": f"span {anchor.start}-{anchor.end}",
                    "text": anchor.text[:80],
                    "labels": "; ".join(f"{a}: {labels.get(a, '(no span)')}" for a in present),
                }
            )
    for u in article_units(units, annotators):
        for article_id, group in u.rows.groupby("unit"):
            if group["annotator"].nunique() >= 2 and group["value"].nunique() > 1:
                rows.append(
                    {
                        "article_id": article_id,
                        "unit": u.label,
                        "text": "",
                        "labels": "; ".join(
                            f"{a}: {v}" for a, v in zip(group["annotator"], group["value"], strict=True)
                        ),
                    }
                )
    return pd.DataFrame(rows, columns=["article_id", "unit", "text", "labels"]).sort_values(
        ["article_id", "unit"], ignore_index=True
    )


def summary_table(report: dict) -> pd.DataFrame:
    """One row per label: alpha over all chosen annotators, with units, or why not available."""
    rows = []
    for label, fig in report["krippendorff_alpha"].items():
        rows.append({"label": label, "krippendorff_alpha": _show(fig), "units": fig["units"]})
    return pd.DataFrame(rows)


def _show(fig: dict) -> str:
    return f"{fig['value']:.3f}" if fig["value"] is not None else f"not available ({fig['not_available']})"
