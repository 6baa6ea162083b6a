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
from collections.abc import Iterator
from dataclasses import dataclass, field

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
    """Cluster (start, end, annotation_uid) spans by rule 2; returns lists of indexes.

    The hot loop of a build (millions of span pairs at 10,000 articles), so `iou` is written
    out: spans come in start order, so an anchor never starts after the span it is compared with."""
    order = sorted(range(len(spans)), key=spans.__getitem__)
    clusters: list[list[int]] = []
    anchors: list[tuple[int, int]] = []  # each cluster's first span
    owners: list[set] = []  # each cluster's annotations
    open_clusters: list[int] = []  # cluster indexes whose anchor may still overlap later spans
    for i in order:
        start, end, uid = spans[i]
        open_clusters = [c for c in open_clusters if anchors[c][1] > start]
        best, best_iou = None, MATCH_IOU
        for c in open_clusters:
            anchor_start, anchor_end = anchors[c]
            score = ((anchor_end if anchor_end < end else end) - start) / (
                (anchor_end if anchor_end > end else end) - anchor_start
            )
            if score >= best_iou and (best is None or score > best_iou) and uid not in owners[c]:
                best, best_iou = c, score
        if best is None:
            clusters.append([i])
            anchors.append((start, end))
            owners.append({uid})
            open_clusters.append(len(clusters) - 1)
        else:
            clusters[best].append(i)
            owners[best].add(uid)
    return clusters


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


@dataclass
class SpanGroups:
    """Every span as typed arrays sorted by (article, start, end, annotation), with each
    article's slice. Built once per build and shared by aggregation and agreement, so the
    spans are joined, sorted and grouped once, and no stage holds a Python object per span
    of the whole corpus (per-article lists are made one article at a time)."""

    article_ids: list[str]  # one per group, sorted
    bounds: np.ndarray  # group g holds rows bounds[g]:bounds[g + 1]
    start: np.ndarray
    end: np.ndarray
    unit: np.ndarray  # position of the span's annotation in `units`
    uid_rank: np.ndarray  # rank of that annotation_uid among all (a sort key equal to the uid's order)
    claim_type: np.ndarray  # code into claim_type_names, -1 for none
    evidence: np.ndarray  # code into evidence_names, -1 for none
    row: np.ndarray  # the span's row in the spans frame (for its text)
    claim_type_names: list
    evidence_names: list
    n_spans: int  # rows of the spans frame, those of unknown annotations included

    @classmethod
    def of(cls, units: pd.DataFrame, spans: pd.DataFrame) -> SpanGroups:
        uids = units["annotation_uid"]
        if not uids.is_unique:
            raise ValueError("annotation_uid must be unique in units")
        unit = pd.Index(uids).get_indexer(spans["annotation_uid"])
        known = np.flatnonzero(unit >= 0)  # spans of no known annotation belong to no article
        unit = unit[known]
        article_code, article_ids = pd.factorize(units["article_id"], sort=True)
        uid_rank = pd.factorize(uids, sort=True)[0]
        start = spans["start"].to_numpy(dtype=np.int64)[known]
        end = spans["end"].to_numpy(dtype=np.int64)[known]
        article = article_code[unit]
        order = np.lexsort((uid_rank[unit], end, start, article))
        claim_type, claim_type_names = pd.factorize(spans[CLAIM_TYPE.name].to_numpy(dtype=object)[known])
        evidence, evidence_names = pd.factorize(spans[EVIDENCE.name].to_numpy(dtype=object)[known])
        article = article[order]
        cuts = np.flatnonzero(np.diff(article)) + 1
        bounds = np.concatenate([[0], cuts, [len(order)]]) if len(order) else np.zeros(1, dtype=np.int64)
        return cls(
            article_ids=[article_ids[a] for a in article[bounds[:-1]]],
            bounds=bounds,
            start=start[order],
            end=end[order],
            unit=unit[order],
            uid_rank=uid_rank[unit[order]],
            claim_type=claim_type[order],
            evidence=evidence[order],
            row=known[order],
            claim_type_names=list(claim_type_names),
            evidence_names=list(evidence_names),
            n_spans=len(spans),
        )

    def slices(self, keep: np.ndarray | None = None, desc: str = "spans") -> Iterator[tuple[str, list[tuple]]]:
        """(article_id, [(start, end, uid_rank, unit, claim_type, evidence, row)]) per article, in
        span order; with `keep` (a boolean per unit), only spans of those units, and only
        articles that have any."""
        ct_names, ev_names = [*self.claim_type_names, None], [*self.evidence_names, None]  # code -1 → None
        groups = progress(enumerate(self.article_ids), desc=desc, unit="article", total=len(self.article_ids))
        for g, article_id in groups:
            lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
            unit = self.unit[lo:hi]
            chosen = slice(None) if keep is None else keep[unit]
            unit = unit[chosen]
            if not len(unit):
                continue
            yield (
                article_id,
                list(
                    zip(
                        self.start[lo:hi][chosen].tolist(),
                        self.end[lo:hi][chosen].tolist(),
                        self.uid_rank[lo:hi][chosen].tolist(),
                        unit.tolist(),
                        [ct_names[c] for c in self.claim_type[lo:hi][chosen].tolist()],
                        [ev_names[c] for c in self.evidence[lo:hi][chosen].tolist()],
                        self.row[lo:hi][chosen].tolist(),
                        strict=True,
                    )
                ),
            )


def aggregate(units: pd.DataFrame, spans: pd.DataFrame, groups: SpanGroups | None = None) -> Aggregated:
    """Claims and article labels by the rules above; `groups` is `SpanGroups.of(units, spans)`
    when the caller already has it."""
    counts: Counter = Counter()
    report: dict[str, list] = {"unmatched_spans": [], "ties": []}
    if units.empty:
        return Aggregated(_empty_claims(), pd.DataFrame(columns=ARTICLE_LABEL_COLUMNS), counts, report)
    groups = SpanGroups.of(units, spans) if groups is None else groups
    chosen = choose_tier(units, counts, report)
    keep = np.zeros(len(units), dtype=bool)
    keep[units.index.get_indexer(chosen.index)] = True
    info = _UnitInfo(units, chosen)
    counts["spans_not_in_deciding_tier"] = groups.n_spans - int(keep[groups.unit].sum())
    n_units = Counter(chosen["article_id"].tolist())

    columns: dict[str, list] = {c: [] for c in CLAIM_COLUMNS if c != "text"}
    text_rows: list[int] = []
    for article_id, rows in groups.slices(keep, desc="aggregating spans"):
        _claims_of_article(article_id, rows, n_units[article_id], info, columns, text_rows, counts, report)
    if text_rows:
        columns["text"] = spans["text"].take(text_rows).tolist()
        claims = pd.DataFrame({c: columns[c] for c in CLAIM_COLUMNS})
    else:
        claims = _empty_claims()
    articles = _article_labels(chosen, counts, report)
    counts["claims"] = len(claims)
    return Aggregated(claims, articles, counts, report)


class _UnitInfo:
    """Per-unit columns as plain lists, indexed by position in `units`."""

    def __init__(self, units: pd.DataFrame, chosen: pd.DataFrame):
        self.uid = units["annotation_uid"].tolist()
        self.annotator = units["annotator"].tolist()
        self.guideline_version = (
            units["guideline_version"].astype(object).where(units["guideline_version"].notna(), None).tolist()
        )
        self.tier = [0] * len(units)
        for position, tier in zip(units.index.get_indexer(chosen.index), chosen["tier"].tolist(), strict=True):
            self.tier[position] = tier


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


def _claims_of_article(
    article_id: str,
    rows: list[tuple],
    k: int,
    info: _UnitInfo,
    columns: dict[str, list],
    text_rows: list[int],
    counts: Counter,
    report: dict,
) -> None:
    """Append the article's claims to `columns` (rows: (start, end, uid_rank, unit, claim_type,
    evidence, row), the deciding tier's spans in span order)."""
    clusters = match_spans([(r[0], r[1], r[2]) for r in rows])
    tier = info.tier[rows[0][3]]
    ids: Counter = Counter()
    for cluster in clusters:
        members = [rows[i] for i in cluster]
        if 2 * len(members) <= k:
            counts["unmatched_spans"] += len(members)
            report["unmatched_spans"].append(
                {
                    "article_id": article_id,
                    "marked_by": len(members),
                    "annotators": k,
                    "spans": [
                        {"annotator": info.annotator[m[3]], "start": m[0], "end": m[1], "claim_type": m[4]}
                        for m in members
                    ],
                }
            )
            continue
        offsets = Counter((m[0], m[1]) for m in members)
        start, end = min(offsets, key=lambda se: (-offsets[se], se[0], se[1] - se[0]))
        text_rows.append(next(m[6] for m in members if (m[0], m[1]) == (start, end)))
        who = sorted({info.annotator[m[3]] for m in members})
        for family, position in ((CLAIM_TYPE, 4), (EVIDENCE, 5)):
            decided, tied = plurality([m[position] for m in members])
            if tied:
                counts[f"{family.name}_ties"] += 1
                votes = {info.annotator[m[3]]: m[position] for m in members}
                report["ties"].append(
                    {
                        "article_id": article_id,
                        "start": start,
                        "end": end,
                        "label": family.name,
                        "votes": dict(sorted(votes.items())),
                    }
                )
            elif decided is None:
                counts[f"{family.name}_missing"] += 1
            columns[family.name].append(decided)
        claim_id = f"{article_id}:{start}-{end}"
        ids[claim_id] += 1  # two clusters can settle on the same offsets; keep ids unique
        columns["claim_id"].append(claim_id if ids[claim_id] == 1 else f"{claim_id}#{ids[claim_id]}")
        columns["article_id"].append(article_id)
        columns["start"].append(start)
        columns["end"].append(end)
        columns["origin"].append(TIER_ORIGIN[tier])
        columns["aggregation"].append(TIER_RULE[tier])
        columns["n_annotators"].append(k)
        columns["n_marked"].append(len(members))
        columns["annotators"].append(who)
        columns["source_annotations"].append(sorted(info.uid[m[3]] for m in members))
        columns["guideline_version"].append(_versions(info.guideline_version[m[3]] for m in members))


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


def _article_labels(chosen: pd.DataFrame, counts: Counter, report: dict) -> pd.DataFrame:
    """One row per article from its deciding units (`chosen` is sorted by article)."""
    fields = ["article_id", "annotator", "tier", "guideline_version", RISK_DISCLOSURES.name]
    fields += [HARMS_EXPLAINED.name, EVIDENCE_EXPLAINED.name]
    values = [chosen[f].astype(object).where(chosen[f].notna(), None).tolist() for f in fields]
    by_article: dict[str, list[tuple]] = {}
    for row in zip(*values, strict=True):
        by_article.setdefault(row[0], []).append(row)
    rows = []
    for article_id, group in by_article.items():
        k = len(group)
        tier = int(group[0][2])
        checklists = [g[4] for g in group if isinstance(g[4], list)]
        answered = len(checklists)  # annotations that judged the article at all
        ticks = Counter(item for items in checklists for item in items)
        present = [i for i in RISK_DISCLOSURES.names if 2 * ticks[i] > answered]
        undecided = [i for i in RISK_DISCLOSURES.names if answered and 2 * ticks[i] == answered]
        if undecided:
            counts["risk_items_undecided"] += len(undecided)
            report["ties"].append({"article_id": article_id, "label": RISK_DISCLOSURES.name, "items": undecided})
        decided = {}
        for family, position in ((HARMS_EXPLAINED, 5), (EVIDENCE_EXPLAINED, 6)):
            answers = {g[1]: g[position] for g in group}
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
                "annotators": sorted(g[1] for g in group),
                "guideline_version": _versions(g[3] for g in group),
            }
        )
    return pd.DataFrame.from_records(rows, columns=ARTICLE_LABEL_COLUMNS)
