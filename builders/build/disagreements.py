"""What an adjudicator works through (`khc agreement --disagreements`), and the agreement summary
table `khc agreement` prints: both read the units and span matching of builders/build/agreement.py.

One row per unit the annotators who share it do not agree on (a claim-span unit, or an
article-level label of an article). Each pair of annotators on a unit disagrees in one of two
ways, kept in separate columns:
- `boundary_only`: their spans of the unit (matched by the aggregation rule) carry the same
  claim_type and evidence but different offsets;
- `label`: their labels differ, by family (`claim_type`, `evidence` for spans; the article
  label's family for article units), whatever the offsets.
`no_span` names who annotated the article but marked no span of the unit.
"""

from __future__ import annotations

import itertools

import pandas as pd

from builders.build.agreement import answering, people
from builders.build.coding import Units
from builders.build.labels import codes_or_none
from builders.build.spans import SpanGroups, match_spans
from builders.features import decode
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES

COLUMNS = ["article_id", "unit", "text", "labels", "offsets", "boundary_only", "label", "no_span"]


def disagreements(
    units: pd.DataFrame, spans: pd.DataFrame, annotators: list[str] | None = None, groups: SpanGroups | None = None
) -> pd.DataFrame:
    """Units where the annotators who share them differ, for an adjudicator to work through
    (default: the people)."""
    annotators = sorted(annotators or people(units))
    per_article = units[units["annotator"].isin(annotators)].groupby("article_id")["annotator"].apply(sorted)
    rows = []
    texts = spans["text"]
    for article, who, members in _span_units(units, spans, annotators, groups):
        present = per_article[article.article_id]
        if len(present) < 2:
            continue
        spans_of = {who[i]: i for i in members}  # one span per annotator in a unit
        boundary, label = [], {CLAIM_TYPE.name: [], EVIDENCE.name: []}
        for a, b in itertools.combinations(sorted(spans_of), 2):
            i, j = spans_of[a], spans_of[b]
            differ = [
                family
                for family, values in ((CLAIM_TYPE.name, article.claim_type), (EVIDENCE.name, article.evidence))
                if values[i] != values[j]
            ]
            for family in differ:
                label[family].append(f"{a}|{b}")
            if not differ and (article.start[i], article.end[i]) != (article.start[j], article.end[j]):
                boundary.append(f"{a}|{b}")
        missing = [a for a in present if a not in spans_of]
        if not boundary and not any(label.values()) and not missing:
            continue
        anchor = members[0]
        rows.append(
            {
                "article_id": article.article_id,
                "unit": f"span {article.start[anchor]}-{article.end[anchor]}",
                "text": texts.iat[article.row[anchor]][:80],
                "labels": "; ".join(f"{a}: {_span_labels(article, spans_of.get(a))}" for a in present),
                "offsets": "; ".join(f"{a}: {article.start[i]}-{article.end[i]}" for a, i in sorted(spans_of.items())),
                "boundary_only": "; ".join(boundary),
                "label": "; ".join(f"{family}: {', '.join(pairs)}" for family, pairs in label.items() if pairs),
                "no_span": "; ".join(missing),
            }
        )
    rows += _article_rows(units, annotators)
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["article_id", "unit"], ignore_index=True)


def _span_units(units: pd.DataFrame, spans: pd.DataFrame, annotators: list[str], groups: SpanGroups | None):
    """(article spans, each span's annotator, the unit's spans) of every span unit: agreement's
    clusters (the matching rule, one span per annotator), article by article."""
    groups = SpanGroups.of(units, spans) if groups is None else groups
    names = units["annotator"].tolist()
    for article in groups.articles(units["annotator"].isin(annotators).to_numpy(), desc="disagreements"):
        who = [names[u] for u in article.unit]
        for members in match_spans(article.start, article.end, who):
            yield article, who, members


def _span_labels(article, i: int | None) -> str:
    if i is None:
        return "(no span)"
    claim_type, evidence = article.claim_type[i], article.evidence[i]
    return f"{decode('claims', CLAIM_TYPE.name, claim_type)}/{decode('claims', EVIDENCE.name, evidence)}"


def _article_rows(units: pd.DataFrame, annotators: list[str]) -> list[dict]:
    """Article-level labels the annotators of an article answered differently: label disagreements."""
    rows = []
    for u in _article_tables(units, annotators):
        family = u.label.split(".")[0]  # a checklist item belongs to risk_disclosures
        for article_id, answers in u.table.items():
            if len(answers) >= 2 and len(set(answers.values())) > 1:
                pairs = [f"{a}|{b}" for a, b in itertools.combinations(sorted(answers), 2) if answers[a] != answers[b]]
                rows.append(
                    {
                        "article_id": article_id,
                        "unit": u.label,
                        "text": "",
                        "labels": "; ".join(f"{a}: {_answer(u.label, v)}" for a, v in answers.items()),
                        "offsets": "",
                        "boundary_only": "",
                        "label": f"{family}: {', '.join(pairs)}",
                        "no_span": "",
                    }
                )
    return rows


def _article_tables(units: pd.DataFrame, annotators: list[str]) -> list[Units]:
    """The article-level labels' units as article → {annotator: value} tables, answers in the
    order given (the first one counts), for the rows an adjudicator reads."""
    chosen = answering(units, annotators)
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


def _answer(label: str, value: int) -> object:
    """An article-level answer as the adjudicator reads it: a criterion's name, a checklist item's 0/1."""
    return decode("articles", label, value) if label in (HARMS_EXPLAINED.name, EVIDENCE_EXPLAINED.name) else value


def summary_table(report: dict) -> pd.DataFrame:
    """One row per label: alpha over all chosen annotators with its interval and units, or why not
    available; and alpha (units) with and without a prediction shown, when the report has them."""
    groups = report.get("by_prediction_shown", {})
    rows = []
    for label, fig in report["krippendorff_alpha"].items():
        row = {"label": label, "krippendorff_alpha": _show(fig), "interval": _interval(fig), "units": fig["units"]}
        for name, group in groups.items():
            found = group["krippendorff_alpha"][label]
            row[name] = f"{found['value']:.3f} ({found['units']})" if found["value"] is not None else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def _show(fig: dict) -> str:
    return f"{fig['value']:.3f}" if fig["value"] is not None else f"not available ({fig['not_available']})"


def _interval(fig: dict) -> str:
    found = fig.get("interval")
    if found is None:
        return "—" if fig["value"] is None else f"none ({fig['interval_not_available']})"
    return f"{found['low']:.3f}–{found['high']:.3f}"
