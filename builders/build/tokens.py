"""The `claim_tokens` config: each labelled article as tokens with BIO tags over the claim types.

Tokenizer `words_punct_v1` (deterministic, no model): a token is a run of word characters
(`\\w`, Unicode) that may continue over one inner hyphen or apostrophe (`long-term`, `don't`),
or any other single non-space character (punctuation, symbols). Whitespace is never a token;
`token_start`/`token_end` are the token's character offsets into the article `text` (end
exclusive), so `text[token_start[i]:token_end[i]] == tokens[i]`.

Tags come from the aggregated claims (the `claims` config), by these rules, each counted in
`build_report.json`:
- a claim covers every token it touches (offsets overlap by at least one character); a claim
  whose start or end falls inside a token is widened to that token (`claim_tokens_snapped`);
- claims are placed in order of start, the longer first on a tie; a claim that overlaps tokens
  an earlier one took keeps only the tokens after them (`claim_tokens_overlap_trimmed`), or is
  left out when none remain (`claim_tokens_overlap_dropped`);
- a claim whose `claim_type` is null (annotators tied) is left out: there is no tag for it
  (`claim_tokens_null_type`); a claim that touches no token (whitespace only) too
  (`claim_tokens_no_token`).
Articles nobody labelled have no row: all-`O` tags would claim "no claim here".
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa

from builders.features import BIO_TAGS
from builders.schema import CLAIM_TYPE

TOKENIZER = "words_punct_v1"
TOKEN_PATTERN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")

OUTSIDE = BIO_TAGS.index("O")
RULE_COUNTS = (
    "claim_tokens_snapped",
    "claim_tokens_overlap_trimmed",
    "claim_tokens_overlap_dropped",
    "claim_tokens_null_type",
    "claim_tokens_no_token",
)


def begin_tag(claim_type: int) -> int:
    """The code of `B-<type>` (the `I-` tag is the next code), as `BIO_TAGS` orders them."""
    return 1 + 2 * claim_type


def tokenize(text: str) -> tuple[list[str], list[int], list[int]]:
    """Tokens of `text` and their [start, end) character offsets."""
    spans = [m.span() for m in TOKEN_PATTERN.finditer(text)]
    return [text[s:e] for s, e in spans], [s for s, _ in spans], [e for _, e in spans]


def tag_article(
    starts: list[int], ends: list[int], claims: list[tuple[int, int, int | None]], counts: Counter
) -> list[int]:
    """BIO tag codes of one article's tokens from its claims (start, end, claim_type code or None)."""
    tags = [OUTSIDE] * len(starts)
    token_starts, token_ends = np.asarray(starts), np.asarray(ends)
    taken_until = 0  # claims come in start order, so tokens taken so far are a prefix of any later claim
    for start, end, claim_type in sorted(claims, key=lambda c: (c[0], -(c[1] - c[0]))):
        if claim_type is None:
            counts["claim_tokens_null_type"] += 1
            continue
        first = int(np.searchsorted(token_ends, start, side="right"))  # first token ending after start
        last = int(np.searchsorted(token_starts, end, side="left"))  # one past the last token starting before end
        if first >= last:
            counts["claim_tokens_no_token"] += 1
            continue
        if starts[first] < start or ends[last - 1] > end:
            counts["claim_tokens_snapped"] += 1
        if first < taken_until:
            if taken_until >= last:
                counts["claim_tokens_overlap_dropped"] += 1
                continue
            counts["claim_tokens_overlap_trimmed"] += 1
            first = taken_until
        tags[first] = begin_tag(claim_type)
        tags[first + 1 : last] = [begin_tag(claim_type) + 1] * (last - first - 1)
        taken_until = last
    return tags


def claim_tokens_frame(
    articles: pd.DataFrame, claims: pd.DataFrame, counts: Counter
) -> tuple[pd.DataFrame, TokenLists]:
    """One row per labelled article of `articles` (the articles frame), tagged from `claims`
    (the claims frame): the rows' `article_id`s, and their token, offset and tag lists in the
    same order. The rules' counts are added to `counts`."""
    for name in RULE_COUNTS:
        counts[name] += 0  # listed in the report even when no claim needed the rule
    by_article: dict[str, list[tuple[int, int, int | None]]] = {}
    types = claims[CLAIM_TYPE.name].astype(object).where(claims[CLAIM_TYPE.name].notna(), None)
    for article_id, start, end, claim_type in zip(
        claims["article_id"], claims["start"], claims["end"], types, strict=True
    ):
        by_article.setdefault(article_id, []).append(
            (int(start), int(end), None if claim_type is None else int(claim_type))
        )
    labelled = articles[articles["labeled"]].sort_values("article_id")
    lists = TokenLists()
    for article_id, text in zip(labelled["article_id"], labelled["text"], strict=True):
        tokens, starts, ends = tokenize(text)
        tags = tag_article(starts, ends, by_article.get(article_id, []), counts)
        lists.append(tokens=tokens, token_start=starts, token_end=ends, tags=tags)
    return pd.DataFrame({"article_id": labelled["article_id"].tolist()}), lists


LIST_ITEM_TYPES = {"tokens": pa.string(), "token_start": pa.int32(), "token_end": pa.int32(), "tags": pa.int64()}


class TokenLists:
    """The claim_tokens rows' list columns as one small Arrow array per row and column, so
    memory holds Arrow buffers, never millions of tokens as Python objects."""

    def __init__(self) -> None:
        self.rows: dict[str, list[pa.Array]] = {name: [] for name in LIST_ITEM_TYPES}

    def append(self, **lists: list) -> None:
        for name, values in lists.items():
            self.rows[name].append(pa.array(values, type=LIST_ITEM_TYPES[name]))

    def select(self, chosen: np.ndarray) -> dict[str, pa.ListArray]:
        """The list columns of the chosen rows, built compact (as `pa.array` of Python lists would)."""
        picked = np.flatnonzero(chosen)
        columns = {}
        for name, arrays in self.rows.items():
            parts = [arrays[i] for i in picked]
            lengths = np.array([len(a) for a in parts], dtype=np.int64)
            offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), type=pa.int32())
            values = pa.concat_arrays(parts) if parts else pa.array([], type=LIST_ITEM_TYPES[name])
            columns[name] = pa.ListArray.from_arrays(offsets, values)
        return columns


def spans_from_tags(tags: list[int], starts: list[int], ends: list[int]) -> list[tuple[int, int, int]]:
    """(start, end, claim_type code) of every tagged span: a B- tag and the I- tags of the same type after it."""
    spans: list[tuple[int, int, int]] = []
    current: list[int] | None = None
    for i, tag in enumerate(tags):
        if tag != OUTSIDE and tag % 2 == 0 and current is not None and tag == begin_tag(current[2]) + 1:
            current[1] = ends[i]
            continue
        if current is not None:
            spans.append(tuple(current))
            current = None
        if tag != OUTSIDE:
            current = [starts[i], ends[i], (tag - 1) // 2]
    if current is not None:
        spans.append(tuple(current))
    return spans
