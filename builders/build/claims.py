"""Claims from span clusters, over columns: aggregation's rules 2–4 for one batch of articles.

`claims_of` reads a batch of the deciding tier's clusters (`spans.Clusters`) as numpy columns
(one entry per span or per cluster) and gives the batch's claims table; only the rare cases
a person reads (unmatched clusters, ties) are written out one by one. The rules themselves are
stated in builders/build/aggregate.py.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from builders.build.spans import Clusters, SpanGroups
from builders.features import CLAIM_COLUMNS, decode
from builders.schema import (
    ACCEPTED_UNCHANGED,
    AGGREGATION_RULES,
    CLAIM_TYPE,
    EVIDENCE,
    EVIDENCE_EXPLAINED,
    HARMS_EXPLAINED,
    HUMAN,
    MODEL,
    NO_LABEL,
)

# Tiers of rule 1: 0 ground truth, 1 human majority, 2 model; each tier's ORIGIN and AGGREGATION code.
TIER_RULE = {tier: AGGREGATION_RULES.index(rule) for tier, rule in enumerate(AGGREGATION_RULES)}
TIER_ORIGIN = {0: HUMAN, 1: HUMAN, 2: MODEL}
CODE_COLUMNS = ("origin", "aggregation", CLAIM_TYPE.name, EVIDENCE.name, HARMS_EXPLAINED.name, EVIDENCE_EXPLAINED.name)


@dataclass
class Codes:
    """A units column as integer codes into its sorted distinct values (-1: none)."""

    codes: np.ndarray
    names: list

    @classmethod
    def of(cls, column: pd.Series) -> Codes:
        codes, names = pd.factorize(column, sort=True)
        return cls(codes, list(names))


class UnitColumns:
    """What claims read of the units, indexed by position in `units`; `k` per span group: how
    many deciding units its article has."""

    def __init__(self, units: pd.DataFrame, chosen: pd.DataFrame, groups: SpanGroups):
        self.uid = Codes.of(units["annotation_uid"])
        self.annotator = Codes.of(units["annotator"])
        versions = units["guideline_version"]
        self.version = Codes.of(versions.where(versions.map(lambda v: isinstance(v, str))))
        self.tier = np.zeros(len(units), dtype=np.int64)
        self.tier[units.index.get_indexer(chosen.index)] = chosen["tier"].to_numpy()
        n_units = chosen["article_id"].value_counts()
        self.k = n_units.reindex(groups.article_ids, fill_value=0).to_numpy(dtype=np.int64)


def claims_of(
    batch: Clusters, groups: SpanGroups, info: UnitColumns, spans: pd.DataFrame, counts: Counter, report: dict
) -> pd.DataFrame:
    """The claims of one batch of clusters (the deciding tier's), as a CLAIM_COLUMNS table."""
    k = info.k[batch.group]
    marked = 2 * batch.sizes > k  # rule 3
    for c in np.flatnonzero(~marked):
        report["unmatched_spans"].append(_unmatched(batch, int(c), int(k[c]), groups, info))
    if (~marked).any():
        counts["unmatched_spans"] += int(batch.sizes[~marked].sum())
    claims, k = batch.subset(marked), k[marked]
    n, member, position = len(claims), claims.of_span(), claims.span
    unit = groups.unit[position]
    start, end, text_row = _offsets(claims, groups)
    tier = info.tier[unit[claims.bounds[:-1]]]
    columns: dict[str, object] = {}
    tied = {}
    for family, codes in ((CLAIM_TYPE, groups.claim_type), (EVIDENCE, groups.evidence)):
        decided, tied[family.name] = plurality_of(member, codes[position], n)
        columns[family.name] = pd.arrays.IntegerArray(decided.astype(np.int8), decided == NO_LABEL)
        _count(counts, f"{family.name}_ties", int(tied[family.name].sum()))
        _count(counts, f"{family.name}_missing", int(((decided == NO_LABEL) & ~tied[family.name]).sum()))
    article_ids = [groups.article_ids[g] for g in claims.group.tolist()]
    for c in np.flatnonzero(tied[CLAIM_TYPE.name] | tied[EVIDENCE.name]).tolist():
        for label, codes in ((CLAIM_TYPE.name, groups.claim_type), (EVIDENCE.name, groups.evidence)):
            if tied[label][c]:
                report["ties"].append(
                    _tie(article_ids[c], int(start[c]), int(end[c]), label, claims, c, codes, groups, info)
                )
    accepted = (groups.result_origin[position] == ACCEPTED_UNCHANGED) & (tier[member] < 2)
    versions = sorted_sets(member, info.version.codes[unit], info.version.names, n)
    columns.update(
        claim_id=_claim_ids(article_ids, start, end),
        article_id=article_ids,
        start=start,
        end=end,
        text=spans["text"].take(text_row).tolist(),
        origin=_codes([TIER_ORIGIN[t] for t in range(3)], tier),
        aggregation=_codes([TIER_RULE[t] for t in range(3)], tier),
        n_annotators=k,
        n_marked=claims.sizes,
        n_accepted_unchanged=np.bincount(member, weights=accepted, minlength=n).astype(np.int64),
        annotators=sorted_sets(member, info.annotator.codes[unit], info.annotator.names, n),
        source_annotations=sorted_sets(member, info.uid.codes[unit], info.uid.names, n),
        guideline_version=[",".join(v) if v else None for v in versions],
    )
    return pd.DataFrame({c: columns[c] for c in CLAIM_COLUMNS})


def _count(counts: Counter, key: str, n: int) -> None:
    if n:  # a key only where something was counted, as a count per occurrence would leave it
        counts[key] += n


def _codes(by_tier: list[int], tier: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.array(by_tier, dtype=np.int8)[tier], np.zeros(len(tier), dtype=bool))


def _offsets(claims: Clusters, groups: SpanGroups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each claim's offsets, the most frequent among its spans (ties: earliest start, then
    shortest), and the spans-table row of its first span with them (for the text)."""
    position = claims.span
    member, start, end = claims.of_span(), groups.start[position], groups.end[position]
    order = np.lexsort((np.arange(len(position)), end, start, member))  # runs of one claim's equal offsets
    new_run = np.ones(len(order), dtype=bool)
    new_run[1:] = np.diff(member[order]) != 0
    new_run[1:] |= (np.diff(start[order]) != 0) | (np.diff(end[order]) != 0)
    first = order[new_run]  # the first span (in joining order) of each run
    size = np.diff(np.append(np.flatnonzero(new_run), len(order)))
    run_claim, run_start, run_end = member[first], start[first], end[first]
    best = np.lexsort((run_end - run_start, run_start, -size, run_claim))
    head = np.ones(len(best), dtype=bool)
    head[1:] = np.diff(run_claim[best]) != 0
    chosen = first[best[head]]  # one per claim, in claim order
    return start[chosen], end[chosen], groups.row[position[chosen]]


def plurality_of(member: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster, the most frequent of its spans' codes (NO_LABEL left out) and whether first
    place was tied (the code is then NO_LABEL, as it is where no span has one): `plurality`."""
    present = values != NO_LABEL
    width = int(values.max()) + 1 if present.any() else 1
    key, count = np.unique(member[present].astype(np.int64) * width + values[present], return_counts=True)
    cluster, value = np.divmod(key, width)
    order = np.lexsort((-count, cluster))  # each cluster's most frequent value first
    cluster, value, count = cluster[order], value[order], count[order]
    head = np.flatnonzero(np.diff(cluster, prepend=-1) != 0)
    decided = np.full(n, NO_LABEL, dtype=np.int64)
    decided[cluster[head]] = value[head]
    runner_up = head + 1
    shared = runner_up < len(cluster)
    shared[shared] = cluster[runner_up[shared]] == cluster[head[shared]]
    tied = np.zeros(n, dtype=bool)
    tied[cluster[head[shared]]] = count[runner_up[shared]] == count[head[shared]]
    decided[tied] = NO_LABEL
    return decided, tied


def sorted_sets(member: np.ndarray, codes: np.ndarray, names: list, n: int) -> list[list]:
    """Per cluster, the distinct `names[code]` of its spans, sorted (codes follow the names'
    order; -1 left out)."""
    if not names:
        return [[] for _ in range(n)]
    given = codes >= 0
    cluster, code = np.divmod(np.unique(member[given].astype(np.int64) * len(names) + codes[given]), len(names))
    values = np.array(names, dtype=object)[code].tolist()
    bounds = np.searchsorted(cluster, np.arange(n + 1)).tolist()
    return [values[lo:hi] for lo, hi in itertools.pairwise(bounds)]


def _claim_ids(article_ids: list[str], start: np.ndarray, end: np.ndarray) -> list[str]:
    """`article:start-end`; two clusters can settle on the same offsets: `#2`, `#3` … keep ids unique."""
    ids = pd.Series([f"{a}:{s}-{e}" for a, s, e in zip(article_ids, start.tolist(), end.tolist(), strict=True)])
    seen = ids.groupby(ids, sort=False).cumcount() + 1
    return [i if n == 1 else f"{i}#{n}" for i, n in zip(ids.tolist(), seen.tolist(), strict=True)]


def _tie(article_id, start, end, label, claims, c, codes, groups, info) -> dict:
    """A claim whose `label` has a tie for first place, with everyone's vote."""
    family = "claims"
    votes = {}
    for p in claims.span[claims.bounds[c] : claims.bounds[c + 1]].tolist():
        votes[info.annotator.names[info.annotator.codes[groups.unit[p]]]] = decode(family, label, int(codes[p]))
    return {"article_id": article_id, "start": start, "end": end, "label": label, "votes": dict(sorted(votes.items()))}


def _unmatched(batch: Clusters, c: int, k: int, groups: SpanGroups, info: UnitColumns) -> dict:
    """A cluster marked by half of the tier's annotators or fewer: listed, not a claim."""
    spans = []
    for p in batch.span[batch.bounds[c] : batch.bounds[c + 1]].tolist():
        spans.append(
            {
                "annotator": info.annotator.names[info.annotator.codes[groups.unit[p]]],
                "start": int(groups.start[p]),
                "end": int(groups.end[p]),
                "claim_type": decode("claims", CLAIM_TYPE.name, int(groups.claim_type[p])),
            }
        )
    return {"article_id": groups.article_ids[batch.group[c]], "marked_by": len(spans), "annotators": k, "spans": spans}
