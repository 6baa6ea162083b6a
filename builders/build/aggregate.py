"""Aggregate stage: many annotators' labels → one label per claim span and per article.

Rules (the card and README repeat them):
1. Tier, per article. If a human annotation is flagged `ground_truth`, it alone decides
   (several: the most recently updated, counted). Otherwise the human annotations decide
   by majority. Only when no human has annotated the article do model labels
   (pre-annotations) decide, by the same majority rule. The winning tier sets `origin`.
2. Span matching (`spans.match_spans`). Spans are taken in order of (start, end, annotation).
   A span joins the cluster whose first span (its anchor) it overlaps most, if that character
   IoU (overlap / union) is at least 0.5 and the cluster holds no span of the same annotation
   yet (ties: the earlier cluster); otherwise it starts a cluster. Every span in a cluster
   matches its anchor, so matches do not chain.
3. A cluster becomes a claim when more than half of the tier's annotators of the article
   marked it; its offsets are the most frequent among its spans (ties: earliest start,
   then shortest). Clusters below that are "unmatched": counted and listed in the build
   report, never emitted silently.
4. Labels: the most frequent value among those who marked the span (claim_type,
   evidence) or answered (harms_explained, evidence_explained) wins; a tie for first place
   leaves the label null and is counted and listed. A risk-disclosure item is present when
   more than half of the tier's annotators who answered the article-level questions ticked
   it, undecided at exactly half.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from builders.build.claims import CODE_COLUMNS, TIER_ORIGIN, TIER_RULE, UnitColumns, claims_of
from builders.build.labels import codes_or_none
from builders.build.spans import SpanGroups
from builders.features import ARTICLE_LABEL_COLUMNS, CLAIM_COLUMNS, decode
from builders.schema import (
    ACCEPTED_UNCHANGED,
    EVIDENCE_EXPLAINED,
    HARMS_EXPLAINED,
    HUMAN,
    RISK_DISCLOSURES,
)


@dataclass
class Aggregated:
    claims: pd.DataFrame  # CLAIM_COLUMNS; label columns nullable codes
    articles: pd.DataFrame  # ARTICLE_LABEL_COLUMNS, one row per labeled article
    counts: Counter = field(default_factory=Counter)
    report: dict[str, list] = field(default_factory=dict)


def plurality(values: list) -> tuple[object | None, bool]:
    """(winner, tied): the most frequent non-null value, or (None, True) on a tie for first."""
    present = [v for v in values if v is not None]
    if not present:
        return None, False
    if present.count(present[0]) == len(present):  # unanimous: the usual case, without a Counter
        return present[0], False
    counted = Counter(present).most_common()
    if len(counted) > 1 and counted[0][1] == counted[1][1]:
        return None, True
    return counted[0][0], False


def choose_tier(units: pd.DataFrame, counts: Counter, report: dict) -> pd.DataFrame:
    """The units that decide each article (rule 1), with `tier` set."""
    human = (units["origin"] == HUMAN).to_numpy()
    tier = np.where(human & units["ground_truth"].to_numpy(), 0, np.where(human, 1, 2))
    units = units.assign(tier=tier)
    best = units.groupby("article_id")["tier"].transform("min")
    chosen = units[units["tier"] == best]
    truth = chosen[chosen["tier"] == 0].sort_values(
        ["article_id", "updated_at", "ls_annotation_id"], na_position="first"
    )
    several = truth["article_id"].duplicated(keep="last")
    if several.any():
        counts["ground_truth_superseded"] += int(several.sum())
        report["ground_truth_superseded"] = truth.loc[several, "annotation_uid"].tolist()
        chosen = chosen.drop(index=truth.index[several])
    return chosen.sort_values(["article_id", "annotation_uid"])


def aggregate(units: pd.DataFrame, spans: pd.DataFrame, groups: SpanGroups | None = None) -> Aggregated:
    """Claims and article labels by the rules above; `groups` is `SpanGroups.of(units, spans)`
    when the caller already has it."""
    counts: Counter = Counter()
    report: dict[str, list] = {"unmatched_spans": [], "ties": []}
    if units.empty:
        return Aggregated(_frame({c: [] for c in CLAIM_COLUMNS}), _frame({c: [] for c in ARTICLE_LABEL_COLUMNS}))
    groups = SpanGroups.of(units, spans) if groups is None else groups
    chosen = choose_tier(units, counts, report)
    keep = np.zeros(len(units), dtype=bool)
    keep[units.index.get_indexer(chosen.index)] = True
    counts["spans_not_in_deciding_tier"] = groups.n_spans - int(keep[groups.unit].sum())
    batches = list(claim_batches(units, spans, groups, chosen, counts, report))
    claims = pd.concat(batches, ignore_index=True) if batches else _frame({c: [] for c in CLAIM_COLUMNS})
    articles = _article_labels(chosen, counts, report)
    counts["claims"] = len(claims)
    return Aggregated(claims, articles, counts, report)


def claim_batches(
    units: pd.DataFrame, spans: pd.DataFrame, groups: SpanGroups, chosen: pd.DataFrame, counts: Counter, report: dict
) -> Iterator[pd.DataFrame]:
    """The claims (rules 2 and 3, and rule 4's span labels) of the deciding units `chosen`, one
    table per batch of articles (`SpanGroups.clusters`), each made from its batch's spans alone."""
    keep = np.zeros(len(units), dtype=bool)
    keep[units.index.get_indexer(chosen.index)] = True
    info = UnitColumns(units, chosen, groups)
    for batch in groups.clusters(info.uid.codes, keep, desc="aggregating spans"):
        claims = claims_of(batch, groups, info, spans, counts, report)
        if len(claims):
            yield claims


def _frame(columns: dict[str, list]) -> pd.DataFrame:
    """A table whose code columns are nullable integers (a tie or a missing label is null)."""
    frame = pd.DataFrame(columns)
    for column in CODE_COLUMNS:
        if column in frame and not isinstance(frame[column].dtype, pd.Int8Dtype):
            frame[column] = pd.array(frame[column].tolist(), dtype="Int8")
    return frame


def _versions(values) -> str | None:
    found = sorted({v for v in values if isinstance(v, str)})
    return ",".join(found) if found else None


def _article_labels(chosen: pd.DataFrame, counts: Counter, report: dict) -> pd.DataFrame:
    """One row per article from its deciding units (`chosen` is sorted by article)."""
    fields = ["article_id", "annotator", "tier", "guideline_version", RISK_DISCLOSURES.name]
    fields += [HARMS_EXPLAINED.name, EVIDENCE_EXPLAINED.name]
    fields += [f"{f.name}_origin" for f in (RISK_DISCLOSURES, HARMS_EXPLAINED, EVIDENCE_EXPLAINED)]
    values = [codes_or_none(chosen[f]) for f in fields]
    by_article: dict[str, list[tuple]] = {}
    for row in zip(*values, strict=True):
        by_article.setdefault(row[0], []).append(row)
    rows = [_article_row(article_id, group, counts, report) for article_id, group in by_article.items()]
    return _frame({c: [r[c] for r in rows] for c in ARTICLE_LABEL_COLUMNS})


def _accepted_unchanged(origins: tuple) -> bool:
    """A person submitted a prediction's article-level answers without changing any of them."""
    given = [o for o in origins if o is not None]
    return bool(given) and all(o == ACCEPTED_UNCHANGED for o in given)


def _article_row(article_id: str, group: list[tuple], counts: Counter, report: dict) -> dict:
    """Rule 4 for one article's deciding units: (article, annotator, tier, guideline version,
    checklist codes, harms code, evidence-explained code, and the three answers' result origins) each."""
    k = len(group)
    tier = int(group[0][2])
    checklists = [g[4] for g in group if isinstance(g[4], list)]
    answered = len(checklists)  # annotations that judged the article at all
    ticks = Counter(item for items in checklists for item in items)
    n_items = len(RISK_DISCLOSURES.names)
    # Nobody answered the checklist: no answer (null), never "nothing disclosed" (an empty list).
    present = [i for i in range(n_items) if 2 * ticks[i] > answered] if answered else None
    undecided = [i for i in range(n_items) if 2 * ticks[i] == answered] if answered else None
    if undecided:
        counts["risk_items_undecided"] += len(undecided)
        items = [RISK_DISCLOSURES.names[i] for i in undecided]
        report["ties"].append({"article_id": article_id, "label": RISK_DISCLOSURES.name, "items": items})
    decided = {}
    for family, position in ((HARMS_EXPLAINED, 5), (EVIDENCE_EXPLAINED, 6)):
        answers = {g[1]: g[position] for g in group}
        decided[family.name], tied = plurality(list(answers.values()))
        if tied:
            counts[f"{family.name}_ties"] += 1
            named = {a: decode("articles", family.name, v) for a, v in answers.items()}
            report["ties"].append({"article_id": article_id, "label": family.name, "votes": named})
    return {
        "article_id": article_id,
        RISK_DISCLOSURES.name: present,
        f"{RISK_DISCLOSURES.name}_undecided": undecided,
        **decided,
        "origin": TIER_ORIGIN[tier],
        "aggregation": TIER_RULE[tier],
        "n_annotators": k,
        "n_accepted_unchanged": sum(1 for g in group if tier < 2 and _accepted_unchanged(g[7:10])),
        "annotators": sorted(g[1] for g in group),
        "guideline_version": _versions(g[3] for g in group),
    }
