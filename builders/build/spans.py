"""Claim spans matched across annotators, and every span grouped by article once per build.

`match_spans` is the one span-matching rule (aggregation and agreement both use it);
`SpanGroups` holds every span as typed arrays sorted by (article, start, end, annotation), so
the spans are joined, sorted and grouped once, and a stage holds Python objects for one
article's spans at a time (`ArticleSpans`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from builders.progress import progress
from builders.schema import CLAIM_TYPE, EVIDENCE

MATCH_IOU = 0.5
BATCH_ARTICLES = 1000  # articles whose spans are clustered (and then aggregated or coded) together


def iou(a_start: int, a_end: int, b_start: int, b_end: int) -> float:
    """Character overlap / union of two spans (the matching rule's measure)."""
    overlap = min(a_end, b_end) - max(a_start, b_start)
    if overlap <= 0:
        return 0.0
    return overlap / (max(a_end, b_end) - min(a_start, b_start))


def match_spans(starts: list[int], ends: list[int], owners: list) -> list[list[int]]:
    """Cluster spans (parallel lists; `owners` the annotation of each) by the matching rule.

    Spans are taken in order of (start, end, owner). A span joins the cluster whose first span
    (its anchor) it overlaps most, if that IoU is at least MATCH_IOU and the cluster holds no
    span of the same owner yet (ties: the earlier cluster); otherwise it starts a cluster.
    Returns lists of indexes, each in the order its spans joined."""
    order = sorted(range(len(starts)), key=lambda i: (starts[i], ends[i], owners[i]))
    owner_rank = {o: r for r, o in enumerate(sorted(set(owners)))}
    ids = cluster_ids(
        np.zeros(len(order), dtype=np.int64),
        np.array([starts[i] for i in order], dtype=np.int64),
        np.array([ends[i] for i in order], dtype=np.int64),
        np.array([owner_rank[owners[i]] for i in order], dtype=np.int64),
    )
    clusters: list[list[int]] = [[] for _ in range(int(ids.max(initial=-1)) + 1)]
    for i, cluster in zip(order, ids.tolist(), strict=True):
        clusters[cluster].append(i)
    return clusters


def cluster_ids(article: np.ndarray, start: np.ndarray, end: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """The matching rule (`match_spans`) over spans sorted by (article, start, end, owner),
    several articles at once: each span's cluster number, in order of creation (a cluster's
    members are the spans that carry its number, in the order they joined).

    Only an earlier span at IoU >= MATCH_IOU can be a span's anchor: those pairs are found over
    columns; a span with none starts a cluster, the usual case is settled over columns too, and
    only the rest is walked in order (is the earlier span an anchor, is its cluster free of this
    owner)."""
    earlier, later = matching_pairs(article, start, end)
    mine = owner[earlier] != owner[later]  # an anchor's cluster holds its own owner from the start
    earlier, later = earlier[mine], later[mine]
    width = int(owner.max(initial=0)) + 1
    cluster_owner = earlier * width + owner[later]  # a key per (anchor, owner joining it)
    # The usual case, settled at once: a span's best candidate has no candidate itself (so it
    # surely starts a cluster) and no other span of this owner could join that cluster.
    has_candidate = np.zeros(len(start), dtype=bool)
    has_candidate[later] = True
    best = np.ones(len(later), dtype=bool)
    best[1:] = later[1:] != later[:-1]
    _, key_index, key_count = np.unique(cluster_owner, return_inverse=True, return_counts=True)
    settled = best & ~has_candidate[earlier] & (key_count[key_index.reshape(-1)] == 1)
    anchor = np.ones(len(start), dtype=bool)  # a span that joins no cluster starts one
    anchor[later[settled]] = False
    anchor_of = np.arange(len(start))
    anchor_of[later[settled]] = earlier[settled]
    joined = set(cluster_owner[settled].tolist())  # the owners that joined each cluster, as keys
    # The rest in order: every pair of a span comes after those of earlier spans, so an earlier
    # span is settled by the time a later one looks at it.
    rest = ~np.isin(later, later[settled])
    anchor, anchor_of = anchor.tolist(), anchor_of.tolist()
    pairs = zip(later[rest].tolist(), earlier[rest].tolist(), cluster_owner[rest].tolist(), strict=True)
    for i, j, key in pairs:  # each span's candidates, best first
        if anchor[i] and anchor[j] and key not in joined:  # i unplaced, j an anchor, the owner new there
            joined.add(key)
            anchor_of[i], anchor[i] = j, False
    number = np.cumsum(np.array(anchor, dtype=np.int64)) - 1  # clusters numbered in the order their anchors come
    return number[np.array(anchor_of, dtype=np.int64)]


def matching_pairs(article: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(earlier, later): every pair of spans of one article (sorted by article, start, end) where
    `earlier` comes first and their IoU is at least MATCH_IOU, ordered by the later span, then
    best IoU first, then the earlier span (the rule's tie-break: the earlier cluster)."""
    n = len(start)
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    base = int(end.max()) + 1
    key = article * base + start  # (article, start) as one sortable number
    # an earlier span at IoU >= 0.5 starts no earlier than start - length (overlap >= union / 2)
    first = np.searchsorted(key, article * base + np.maximum(2 * start - end, 0))
    count = np.arange(n) - first
    later = np.repeat(np.arange(n), count)
    earlier = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count) + np.repeat(first, count)
    # the earlier span starts first, so overlap = min(ends) - start and union = max(ends) - its start
    overlap = np.minimum(end[earlier], end[later]) - start[later]
    score = overlap / (np.maximum(end[earlier], end[later]) - start[earlier])
    match = (overlap > 0) & (score >= MATCH_IOU)
    earlier, later, score = earlier[match], later[match], score[match]
    order = np.lexsort((earlier, -score, later))
    return earlier[order], later[order]


@dataclass(slots=True)
class ArticleSpans:
    """One article's spans in span order, as parallel lists (index i is one span)."""

    article_id: str
    start: list[int]
    end: list[int]
    uid_rank: list[int]  # a sort key equal to the annotation_uid's order
    unit: list[int]  # position of the span's annotation in the units table
    claim_type: list[int]  # ClassLabel codes
    evidence: list[int]  # ClassLabel codes, NO_LABEL for none
    row: list[int]  # the span's row in the spans table (for its text)
    result_origin: list[int]  # RESULT_ORIGIN codes of the claim_type results

    def clusters(self) -> list[list[int]]:
        """The matching rule over this article's spans (one owner per annotation)."""
        return match_spans(self.start, self.end, self.uid_rank)


@dataclass
class Clusters:
    """One batch of articles' span clusters, as columns. `span` lists positions into the
    `SpanGroups` arrays, cluster after cluster, each cluster's spans in the order they joined it:
    cluster c is `span[bounds[c]:bounds[c + 1]]`, in article `group[c]` (an index into
    `SpanGroups.article_ids`). Clusters are in article order, each article's in order of creation."""

    span: np.ndarray
    bounds: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return len(self.group)

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.bounds)

    def of_span(self) -> np.ndarray:
        """The cluster of each position in `span`."""
        return np.repeat(np.arange(len(self.group)), self.sizes)

    def subset(self, chosen: np.ndarray) -> Clusters:
        """The clusters where `chosen` (a boolean per cluster) is true, in the same order."""
        sizes = self.sizes[chosen]
        return Clusters(self.span[chosen[self.of_span()]], np.concatenate([[0], np.cumsum(sizes)]), self.group[chosen])


@dataclass
class SpanGroups:
    """Every span of known annotations as typed arrays sorted by (article, start, end,
    annotation), with each article's slice (`bounds`)."""

    article_ids: list[str]  # one per group, sorted
    bounds: np.ndarray  # group g holds rows bounds[g]:bounds[g + 1]
    start: np.ndarray
    end: np.ndarray
    unit: np.ndarray
    uid_rank: np.ndarray
    claim_type: np.ndarray
    evidence: np.ndarray
    row: np.ndarray
    result_origin: np.ndarray
    n_spans: int  # rows of the spans table, those of unknown annotations included

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
            claim_type=spans[CLAIM_TYPE.name].to_numpy()[known][order],
            evidence=spans[EVIDENCE.name].to_numpy()[known][order],
            row=known[order],
            result_origin=spans["result_origin"].to_numpy()[known][order],
            n_spans=len(spans),
        )

    def clusters(
        self, owner: np.ndarray, keep: np.ndarray | None = None, batch: int | None = None, desc: str = "spans"
    ) -> Iterator[Clusters]:
        """The matching rule over every article, `batch` articles at a time: `owner` (an integer
        per unit, in the order of the owners' names) says whose a span is (one span per owner in a
        cluster); with `keep` (a boolean per unit), only spans of those units. Each batch is
        clustered from its own articles' spans alone (`batch`: BATCH_ARTICLES unless given)."""
        n_groups, batch = len(self.article_ids), batch or BATCH_ARTICLES
        firsts = range(0, n_groups, batch)
        for first in progress(firsts, desc=desc, unit="batch", total=len(firsts)):
            last = min(first + batch, n_groups)
            position = np.arange(self.bounds[first], self.bounds[last])
            group = np.repeat(np.arange(first, last), np.diff(self.bounds[first : last + 1]))
            if keep is not None:
                chosen = keep[self.unit[position]]
                position, group = position[chosen], group[chosen]
            owners = owner[self.unit[position]]
            # the rule's order: (start, end, owner) per article, then the groups' own order
            order = np.lexsort((position, owners, self.end[position], self.start[position], group))
            position, group, owners = position[order], group[order], owners[order]
            ids = cluster_ids(group, self.start[position], self.end[position], owners)
            by_cluster = np.argsort(ids, kind="stable")  # members in the order they joined
            bounds = np.concatenate([[0], np.cumsum(np.bincount(ids))]).astype(np.int64)
            yield Clusters(position[by_cluster], bounds, group[by_cluster][bounds[:-1]])

    def articles(self, keep: np.ndarray | None = None, desc: str = "spans") -> Iterator[ArticleSpans]:
        """Each article's spans in span order; with `keep` (a boolean per unit), only spans of
        those units, and only articles that have any."""
        groups = progress(enumerate(self.article_ids), desc=desc, unit="article", total=len(self.article_ids))
        for g, article_id in groups:
            lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
            unit = self.unit[lo:hi]
            chosen = slice(None) if keep is None else keep[unit]
            unit = unit[chosen]
            if not len(unit):
                continue
            yield ArticleSpans(
                article_id,
                self.start[lo:hi][chosen].tolist(),
                self.end[lo:hi][chosen].tolist(),
                self.uid_rank[lo:hi][chosen].tolist(),
                unit.tolist(),
                self.claim_type[lo:hi][chosen].tolist(),
                self.evidence[lo:hi][chosen].tolist(),
                self.row[lo:hi][chosen].tolist(),
                self.result_origin[lo:hi][chosen].tolist(),
            )
