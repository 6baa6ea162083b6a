"""Span F1 of two annotators: how many of their spans match, by identical offsets (`exact`) or
one-to-one at IoU >= 0.5 (`overlap`), on the articles both annotated (agreement.span_pass counts
them article by article)."""

from __future__ import annotations

import bisect
from collections import Counter

from builders.build.coding import NOT_AVAILABLE_FEW, figure


def count_pairs(article_id: str, article, who: list[str], annotated: dict, pair_counts: dict) -> None:
    """Add one article's exact and overlap span matches to each pair that annotated it."""
    by_annotator: dict[str, list[tuple[int, int]]] = {}
    for i, annotator in enumerate(who):
        by_annotator.setdefault(annotator, []).append((article.start[i], article.end[i]))
    for (a, b), figures in pair_counts.items():
        if article_id in annotated.get(a, ()) and article_id in annotated.get(b, ()):
            left, right = by_annotator.get(a, []), by_annotator.get(b, [])
            exact, overlap = match_pair(left, right)
            figures[0] += exact
            figures[1] += overlap
            figures[2] += len(left) + len(right)


def match_pair(left: list[tuple[int, int]], right: list[tuple[int, int]]) -> tuple[int, int]:
    """(exact, overlap): how many pairs of a `left` and a `right` span have identical offsets, and
    how many of `left`'s spans (in span order) match one of `right`'s at IoU >= 0.5 (its best
    unmatched one); each span is in one pair at most."""
    if not left or not right:
        return 0, 0
    right = sorted(right)
    exact = sum((Counter(left) & Counter(right)).values())  # identical offsets, each span taken once
    starts = [rs for rs, _ in right]
    longest = max(re_ - rs for rs, re_ in right)
    taken: set[int] = set()
    overlap = 0
    for start, end in left:
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


def span_f1(counts: list[int]) -> dict:
    """Span F1 of two annotators on the articles both annotated, from `SpanPass.pair_counts`:
        2 × matched pairs / (spans of one + spans of the other), matching by identical offsets
        (`exact`) or one-to-one at IoU >= 0.5 (`overlap`), with the matched pairs and (`units`) the
    spans counted. Symmetric: either side can be the reference."""
    exact, overlap, total = counts
    if total == 0:
        return {"exact": figure(None, 0, NOT_AVAILABLE_FEW), "overlap": figure(None, 0, NOT_AVAILABLE_FEW)}
    return {
        "exact": {**figure(2 * exact / total, total), "matched": exact},
        "overlap": {**figure(2 * overlap / total, total), "matched": overlap},
    }


def pooled(figures: list[dict]) -> dict:
    """Span F1 pooled over several pairs (`span_f1` results): all their matched pairs over all
    their spans."""
    out = {}
    for kind in ("exact", "overlap"):
        counted = [f[kind] for f in figures if f[kind]["value"] is not None]
        total, matched = sum(f["units"] for f in counted), sum(f["matched"] for f in counted)
        out[kind] = (
            {**figure(2 * matched / total, total), "matched": matched} if total else figure(None, 0, NOT_AVAILABLE_FEW)
        )
    return out
