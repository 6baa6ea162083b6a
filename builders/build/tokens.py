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
from collections.abc import Sequence

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


def begin_tag(claim_type: int | np.ndarray) -> int | np.ndarray:
    """The code of `B-<type>` (the `I-` tag is the next code), as `BIO_TAGS` orders them."""
    return 1 + 2 * claim_type


def tokenize(text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Tokens of `text` and their [start, end) character offsets."""
    parts = _SPLITTER.split(text)  # [gap, token, gap, …, token, gap]: the gaps are whitespace
    bounds = np.cumsum(np.fromiter(map(len, parts), dtype=np.int32, count=len(parts)), dtype=np.int32)
    return parts[1::2], bounds[0:-1:2], bounds[1::2]


_SPLITTER = re.compile(f"({TOKEN_PATTERN.pattern})")


def tag_article(
    starts: Sequence[int], ends: Sequence[int], claims: list[tuple[int, int, int | None]], counts: Counter
) -> list[int]:
    """BIO tag codes of one article's tokens from its claims (start, end, claim_type code or None)."""
    ordered = sorted(claims, key=lambda c: (c[0], -(c[1] - c[0])))
    columns = np.array([(s, e, -1 if t is None else t) for s, e, t in ordered], dtype=np.int64).reshape(-1, 3)
    token_starts, token_ends = np.asarray(starts, dtype=np.int32), np.asarray(ends, dtype=np.int32)
    first, last = place(token_starts, token_ends, columns[:, 0], columns[:, 1])
    return tag_tokens(token_starts, token_ends, first, last, *columns.T, counts).tolist()


def place(
    token_starts: np.ndarray, token_ends: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For claims of one article: the first token each touches and one past the last."""
    first = np.searchsorted(token_ends, starts, side="right")  # first token ending after start
    last = np.searchsorted(token_starts, ends, side="left")  # one past the last token starting before end
    return first, last


def tag_tokens(
    token_starts: np.ndarray,
    token_ends: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    types: np.ndarray,
    counts: Counter,
) -> np.ndarray:
    """BIO tag codes (int8) of tokens from claims (their `place`, offsets, claim_type code or -1
    for null) by the module's rules, the claims in placing order: by article, by start, the
    longer first. Tokens and places may run over many articles, one after another."""
    typed = types >= 0
    touching = first < last
    placed = typed & touching
    first, last, starts, ends, types = first[placed], last[placed], starts[placed], ends[placed], types[placed]
    snapped = (token_starts[first] < starts) | (token_ends[last - 1] > ends)
    # The tokens earlier claims took end at the largest `last` so far (an earlier article's
    # claims end before this one's tokens; a dropped claim ends inside what was taken, so the
    # maximum may run over every claim).
    taken = np.concatenate([[0], np.maximum.accumulate(last)[:-1]]).astype(np.int64) if len(last) else last
    dropped = taken >= last
    trimmed = (first < taken) & ~dropped
    counts["claim_tokens_null_type"] += int((~typed).sum())
    counts["claim_tokens_no_token"] += int((typed & ~touching).sum())
    counts["claim_tokens_snapped"] += int(snapped.sum())
    counts["claim_tokens_overlap_dropped"] += int(dropped.sum())
    counts["claim_tokens_overlap_trimmed"] += int(trimmed.sum())
    kept = ~dropped
    first, last, begin = np.maximum(first, taken)[kept], last[kept], begin_tag(types[kept])
    # The kept claims' tokens [first, last) do not overlap, so no two share a first or a last:
    # a cumulative sum of steps gives each run its `I-` tag, then `B-` marks each first token.
    steps = np.zeros(len(token_starts) + 1, dtype=np.int8)
    steps[first] += begin + 1
    steps[last] -= begin + 1
    tags = np.cumsum(steps[:-1], dtype=np.int8)
    tags[first] = begin
    return tags


def claim_tokens_frame(
    articles: pd.DataFrame, claims: pd.DataFrame, counts: Counter
) -> tuple[pd.DataFrame, TokenColumns]:
    """One row per labelled article of `articles` (the articles frame), tagged from `claims`
    (the claims frame): the rows' `article_id`s, and their token, offset and tag lists in the
    same order. The rules' counts are added to `counts`."""
    for name in RULE_COUNTS:
        counts[name] += 0  # listed in the report even when no claim needed the rule
    labelled = articles[articles["labeled"]].sort_values("article_id")
    ids = labelled["article_id"].tolist()
    bounds, starts, ends, types = _placing_order(claims, ids)
    first, last = np.zeros(len(starts), dtype=np.int64), np.zeros(len(starts), dtype=np.int64)
    tokens, token_starts, token_ends = [], [], []
    position = 0  # of the article's first token among all articles' tokens
    for i, text in enumerate(labelled["text"]):
        article_tokens, article_starts, article_ends = tokenize(text)
        mine = slice(bounds[i], bounds[i + 1])
        first[mine], last[mine] = place(article_starts, article_ends, starts[mine], ends[mine])
        first[mine] += position
        last[mine] += position
        position += len(article_tokens)
        tokens.append(pa.array(article_tokens, type=pa.string()))
        token_starts.append(article_starts)
        token_ends.append(article_ends)
    values = {
        "tokens": pa.concat_arrays(tokens) if tokens else pa.array([], type=pa.string()),
        "token_start": _concatenated(token_starts),
        "token_end": _concatenated(token_ends),
    }
    values["tags"] = tag_tokens(values["token_start"], values["token_end"], first, last, starts, ends, types, counts)
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    return pd.DataFrame({"article_id": ids}), TokenColumns(lengths, values)


def _placing_order(claims: pd.DataFrame, ids: list[str]) -> tuple[np.ndarray, ...]:
    """The claims of the articles `ids` in placing order: where each article's claims begin
    (one more for the end), their offsets and their claim_type codes (-1: null)."""
    article = pd.Index(ids).get_indexer(claims["article_id"]).astype(np.int64)  # -1: not among them
    start, end = claims["start"].to_numpy(dtype=np.int64), claims["end"].to_numpy(dtype=np.int64)
    types = claims[CLAIM_TYPE.name].fillna(-1).to_numpy(dtype=np.int64)
    order = np.lexsort((start - end, start, article))  # stable: ties keep the frame's order
    order = order[article[order] >= 0]  # claims of unlabelled articles have no row
    bounds = np.searchsorted(article[order], np.arange(len(ids) + 1))
    return bounds, start[order], end[order], types[order]


def _concatenated(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.array([], dtype=np.int32)


LIST_ITEM_TYPES = {"tokens": pa.string(), "token_start": pa.int32(), "token_end": pa.int32(), "tags": pa.int64()}


class TokenColumns:
    """The claim_tokens rows' list columns: each column's items of every row in one array, and
    each row's number of items, so memory holds Arrow and numpy buffers, never millions of
    tokens as Python objects."""

    def __init__(self, lengths: np.ndarray, values: dict[str, pa.Array | np.ndarray]) -> None:
        self.lengths, self.values = lengths, values

    def select(self, chosen: np.ndarray) -> dict[str, pa.ListArray]:
        """The list columns of the chosen rows (a mask over the rows), built compact and without
        validity buffers, as `pa.array` of Python lists would (the card reports their size)."""
        offsets = pa.array(np.concatenate([[0], np.cumsum(self.lengths[chosen])]), type=pa.int32())
        items = np.repeat(chosen, self.lengths)
        columns = {}
        for name, item_type in LIST_ITEM_TYPES.items():
            values = self.values[name]
            picked = values.filter(pa.array(items)) if isinstance(values, pa.Array) else values[items]
            columns[name] = pa.ListArray.from_arrays(offsets, pa.array(picked, type=item_type))
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
