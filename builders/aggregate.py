"""Aggregate stage: many annotators' labels → one label per claim span and per article.

Rules (the card and README repeat them):
1. Tier, per article. If a human annotation is flagged `ground_truth`, it alone decides
   (several: the most recently updated, counted). Otherwise the human annotations decide
   by majority. Only when no human has annotated the article do model labels
   (pre-annotations) decide, by the same majority rule. The winning tier sets `origin`.
2. Span matching. Spans are taken in order of (start, end, annotation). A span joins the
   cluster whose first span (its anchor) it overlaps most, if that character IoU
   (overlap / union) is at least 0.5 and the cluster holds no span of the same annotation
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
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from builders.progress import progress
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES

MATCH_IOU = 0.5
TIER_RULE = {0: "ground_truth", 1: "human_majority", 2: "model"}
TIER_ORIGIN = {0: "human", 1: "human", 2: "model"}


@dataclass
class Aggregated:
    claims: pd.DataFrame
    articles: pd.DataFrame  # one row per labeled article
    counts: Counter = field(default_factory=Counter)
    report: dict[str, list] = field(default_factory=dict)


def iou(a_start: int, a_end: int, b_start: int, b_end: int) -> float:
    overlap = min(a_end, b_end) - max(a_start, b_start)
    if overlap <= 0:
        return 0.0
    return overlap / (max(a_end, b_end) - min(a_start, b_start))


def match_spans(spans: list[tuple[int, int, str]]) -> list[list[int]]:
    """Cluster (start, end, annotation_uid) spans by rule 2; returns lists of indexes."""
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    clusters: list[list[int]] = []
    open_clusters: list[int] = []  # cluster indexes whose anchor may still overlap later spans
    for i in order:
        start, end, uid = spans[i]
        open_clusters = [c for c in open_clusters if spans[clusters[c][0]][1] > start]
        best, best_iou = None, MATCH_IOU
        for c in open_clusters:
            anchor = spans[clusters[c][0]]
            overlap = iou(anchor[0], anchor[1], start, end)
            if (
                overlap >= best_iou
                and (best is None or overlap > best_iou)
                and all(spans[j][2] != uid for j in clusters[c])
            ):
                best, best_iou = c, overlap
        if best is None:
            clusters.append([i])
            open_clusters.append(len(clusters) - 1)
        else:
            clusters[best].append(i)
    return clusters


def plurality(values: list) -> tuple[object | None, bool]:
    """(winner, tied): the most frequent non-null value, or (None, True) on a tie for first."""
    counted = Counter(v for v in values if v is not None).most_common()
    if not counted:
        return None, False
    if len(counted) > 1 and counted[0][1] == counted[1][1]:
        return None, True
    return counted[0][0], False


def choose_tier(units: pd.DataFrame, counts: Counter, report: dict) -> pd.DataFrame:
    """The units that decide each article (rule 1), with `tier` set."""
    tier = np.where((units["origin"] == "human") & units["ground_truth"], 0, np.where(units["origin"] == "human", 1, 2))
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


def aggregate(units: pd.DataFrame, spans: pd.DataFrame) -> Aggregated:
    counts: Counter = Counter()
    report: dict[str, list] = {"unmatched_spans": [], "ties": []}
    if units.empty:
        return Aggregated(_empty_claims(), pd.DataFrame(columns=ARTICLE_LABEL_COLUMNS), counts, report)
    chosen = choose_tier(units, counts, report)
    unit_info = chosen.set_index("annotation_uid")[["article_id", "annotator", "tier", "guideline_version"]]
    chosen_spans = spans.join(unit_info, on="annotation_uid", how="inner").sort_values(
        ["article_id", "start", "end", "annotation_uid"]
    )
    counts["spans_not_in_deciding_tier"] = len(spans) - len(chosen_spans)
    n_units = chosen.groupby("article_id").size()

    # Plain tuples grouped by article: iterating pandas groups costs more than the work itself.
    grouped: dict[str, list[SpanRow]] = {}
    for row in zip(*(chosen_spans[c].tolist() for c in SpanRow._fields), strict=True):
        grouped.setdefault(row[0], []).append(SpanRow(*row))
    claim_rows: list[dict] = []
    for article_id, rows in progress(grouped.items(), desc="aggregating spans", unit="article", total=len(grouped)):
        claim_rows.extend(_claims_of_article(article_id, rows, int(n_units[article_id]), counts, report))
    claims = pd.DataFrame.from_records(claim_rows, columns=CLAIM_COLUMNS) if claim_rows else _empty_claims()
    articles = _article_labels(chosen, claims, counts, report)
    counts["claims"] = len(claims)
    return Aggregated(claims, articles, counts, report)


CLAIM_COLUMNS = [
    "claim_id",
    "article_id",
    "start",
    "end",
    "text",
    CLAIM_TYPE.name,
    EVIDENCE.name,
    "origin",
    "aggregation",
    "n_annotators",
    "n_marked",
    "annotators",
    "source_annotations",
    "guideline_version",
]


def _empty_claims() -> pd.DataFrame:
    return pd.DataFrame(columns=CLAIM_COLUMNS)


def _versions(values) -> str | None:
    found = sorted({v for v in values if isinstance(v, str)})
    return ",".join(found) if found else None


class SpanRow(NamedTuple):
    article_id: str
    annotation_uid: str
    start: int
    end: int
    text: str
    claim_type: str
    evidence: str | None
    annotator: str
    tier: int
    guideline_version: str | None


def _claims_of_article(article_id: str, rows: list[SpanRow], k: int, counts: Counter, report: dict) -> list[dict]:
    clusters = match_spans([(r.start, r.end, r.annotation_uid) for r in rows])
    tier = rows[0].tier
    claims: list[dict] = []
    for cluster in clusters:
        members = [rows[i] for i in cluster]
        who = {m.annotator: m for m in members}
        if 2 * len(members) <= k:
            counts["unmatched_spans"] += len(members)
            report["unmatched_spans"].append(
                {
                    "article_id": article_id,
                    "marked_by": len(members),
                    "annotators": k,
                    "spans": [
                        {
                            "annotator": m.annotator,
                            "start": m.start,
                            "end": m.end,
                            "claim_type": getattr(m, CLAIM_TYPE.name),
                        }
                        for m in members
                    ],
                }
            )
            continue
        offsets = Counter((m.start, m.end) for m in members)
        start, end = min(offsets, key=lambda se: (-offsets[se], se[0], se[1] - se[0]))
        text = next(m.text for m in members if (m.start, m.end) == (start, end))
        decided = {}
        for family in (CLAIM_TYPE, EVIDENCE):
            votes = [getattr(m, family.name) for m in members]
            decided[family.name], tied = plurality(votes)
            if tied:
                counts[f"{family.name}_ties"] += 1
                report["ties"].append(
                    {
                        "article_id": article_id,
                        "start": start,
                        "end": end,
                        "label": family.name,
                        "votes": {a: getattr(m, family.name) for a, m in sorted(who.items())},
                    }
                )
            elif decided[family.name] is None:
                counts[f"{family.name}_missing"] += 1
        claims.append(
            {
                "claim_id": f"{article_id}:{start}-{end}",
                "article_id": article_id,
                "start": start,
                "end": end,
                "text": text,
                **decided,
                "origin": TIER_ORIGIN[tier],
                "aggregation": TIER_RULE[tier],
                "n_annotators": k,
                "n_marked": len(members),
                "annotators": sorted(who),
                "source_annotations": sorted(m.annotation_uid for m in members),
                "guideline_version": _versions(m.guideline_version for m in members),
            }
        )
    seen: Counter = Counter()
    for claim in claims:  # two clusters can settle on the same offsets; keep ids unique
        seen[claim["claim_id"]] += 1
        if seen[claim["claim_id"]] > 1:
            claim["claim_id"] += f"#{seen[claim['claim_id']]}"
    return claims


ARTICLE_LABEL_COLUMNS = [
    "article_id",
    RISK_DISCLOSURES.name,
    f"{RISK_DISCLOSURES.name}_undecided",
    HARMS_EXPLAINED.name,
    EVIDENCE_EXPLAINED.name,
    "origin",
    "aggregation",
    "n_annotators",
    "annotators",
    "guideline_version",
]


def _article_labels(chosen: pd.DataFrame, claims: pd.DataFrame, counts: Counter, report: dict) -> pd.DataFrame:
    rows = []
    for article_id, group in chosen.groupby("article_id", sort=True):
        k = len(group)
        tier = int(group["tier"].iloc[0])
        checklists = [items for items in group[RISK_DISCLOSURES.name] if isinstance(items, list)]
        answered = len(checklists)  # annotations that judged the article at all
        ticks = Counter(item for items in checklists for item in items)
        present = [i for i in RISK_DISCLOSURES.names if 2 * ticks[i] > answered]
        undecided = [i for i in RISK_DISCLOSURES.names if answered and 2 * ticks[i] == answered]
        if undecided:
            counts["risk_items_undecided"] += len(undecided)
            report["ties"].append({"article_id": article_id, "label": RISK_DISCLOSURES.name, "items": undecided})
        decided = {}
        for family in (HARMS_EXPLAINED, EVIDENCE_EXPLAINED):
            answers = dict(zip(group["annotator"], group[family.name], strict=True))
            decided[family.name], tied = plurality(list(answers.values()))
            if tied:
                counts[f"{family.name}_ties"] += 1
                report["ties"].append({"article_id": article_id, "label": family.name, "votes": answers})
        rows.append(
            {
                "article_id": article_id,
                RISK_DISCLOSURES.name: present,
                f"{RISK_DISCLOSURES.name}_undecided": undecided,
                **decided,
                "origin": TIER_ORIGIN[tier],
                "aggregation": TIER_RULE[tier],
                "n_annotators": k,
                "annotators": sorted(group["annotator"]),
                "guideline_version": _versions(group["guideline_version"]),
            }
        )
    return pd.DataFrame.from_records(rows, columns=ARTICLE_LABEL_COLUMNS)
