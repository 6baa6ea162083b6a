"""What an adjudicator works through (`khc agreement --disagreements`), and the agreement summary
table `khc agreement` prints: both read the units and span matching of builders/build/agreement.py."""

from __future__ import annotations

import pandas as pd

from builders.build.agreement import article_units, people, span_pass
from builders.build.spans import SpanGroups
from builders.features import decode
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED


def disagreements(
    units: pd.DataFrame, spans: pd.DataFrame, annotators: list[str] | None = None, groups: SpanGroups | None = None
) -> pd.DataFrame:
    """Units where the annotators who share them differ, for an adjudicator to work through
    (default: the people)."""
    annotators = sorted(annotators or people(units))
    per_article = units[units["annotator"].isin(annotators)].groupby("article_id")["annotator"].apply(sorted)
    rows = []
    texts = spans["text"]
    for cluster in span_pass(units, spans, annotators, groups, keep_clusters=True).clusters:
        present = per_article[cluster["article"].article_id]
        if len(present) < 2:
            continue
        article, who, members = cluster["article"], cluster["who"], cluster["cluster"]
        labels = {
            who[i]: f"{decode('claims', CLAIM_TYPE.name, article.claim_type[i])}/"
            f"{decode('claims', EVIDENCE.name, article.evidence[i])}"
            for i in members
        }
        if len(labels) < len(present) or len(set(labels.values())) > 1:
            anchor = members[0]
            rows.append(
                {
                    "article_id": article.article_id,
                    "unit": f"span {article.start[anchor]}-{article.end[anchor]}",
                    "text": texts.iat[article.row[anchor]][:80],
                    "labels": "; ".join(f"{a}: {labels.get(a, '(no span)')}" for a in present),
                }
            )
    for u in article_units(units, annotators):
        for article_id, answers in u.table.items():
            if len(answers) >= 2 and len(set(answers.values())) > 1:
                labels = "; ".join(f"{a}: {_answer(u.label, v)}" for a, v in answers.items())
                rows.append({"article_id": article_id, "unit": u.label, "text": "", "labels": labels})
    return pd.DataFrame(rows, columns=["article_id", "unit", "text", "labels"]).sort_values(
        ["article_id", "unit"], ignore_index=True
    )


def _answer(label: str, value: int) -> object:
    """An article-level answer as the adjudicator reads it: a criterion's name, a checklist item's 0/1."""
    return decode("articles", label, value) if label in (HARMS_EXPLAINED.name, EVIDENCE_EXPLAINED.name) else value


def summary_table(report: dict) -> pd.DataFrame:
    """One row per label: alpha over all chosen annotators, with units, or why not available."""
    rows = []
    for label, fig in report["krippendorff_alpha"].items():
        rows.append({"label": label, "krippendorff_alpha": _show(fig), "units": fig["units"]})
    return pd.DataFrame(rows)


def _show(fig: dict) -> str:
    return f"{fig['value']:.3f}" if fig["value"] is not None else f"not available ({fig['not_available']})"
