"""Check a span's offsets against its text, and repair the known Label Studio offset bugs.

Label Studio's text offsets can be off (a) after characters outside the Basic Multilingual
Plane, because the browser counts UTF-16 code units where Python counts code points, and
(b) after `\\r\\n`, when the text it showed had CRLF line ends that the corpus does not.
A span is accepted only if its offsets reproduce its own `text`, read as code points or
in one of the conventions below; a reading other than code points is a repair (counted by
reason), and two readings that put the text at different places are an error. If no
reading does, the span's text must occur exactly once in the article; otherwise the span
is an error, never silently shifted.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from typing import Literal

import numpy as np

Repair = Literal["utf16_offsets", "crlf_offsets", "unique_text_match"]


@lru_cache(maxsize=16)
def _wide(text: str, kind: Literal["astral", "newline"]) -> tuple[list[int], list[int]]:
    """Where the text has characters that count as two units in another convention (astral
    characters in UTF-16; line ends written as \\r\\n), and for the k-th of them its unit index
    (position + k). Cached, since every span of an article asks about the same text."""
    found = _NEWLINE if kind == "newline" else _ASTRAL
    positions = [m.start() for m in found.finditer(text)]
    return positions, [p + k for k, p in enumerate(positions)]


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_NEWLINE = re.compile("\n")


def _reading(positions: list[int], units: list[int], offset: int, length: int) -> int:
    """The code-point index an offset means when each character at `positions` counts as two
    units (`units`: their unit indices, see `_wide`): the first index whose count of units before
    it reaches `offset` (or the text's `length`).

    Between two wide characters, units and code points differ by the number of wide characters
    before: with k of them counted before the offset (those whose unit index is below it), the
    index is offset - k, but never inside the k-th wide character's two units."""
    k = bisect_left(units, offset)
    after_wide = positions[k - 1] + 1 if k else 0
    return min(length, max(offset - k, after_wide))


def _utf16_to_codepoint(text: str, offset: int) -> int:
    return _reading(*_wide(text, "astral"), offset, len(text))


def _crlf_to_lf(text: str, offset: int) -> int:
    """Offset counted on the text with every \\n written as \\r\\n, mapped to the text itself."""
    return _reading(*_wide(text, "newline"), offset, len(text))


# The other conventions an offset may be counted in, in the order their repairs are named.
_CONVENTIONS: tuple[tuple[Repair, Literal["astral", "newline"]], ...] = (
    ("utf16_offsets", "astral"),
    ("crlf_offsets", "newline"),
)


class SpanMismatch(ValueError):
    pass


def locate_span(text: str, start: int, end: int, span_text: str) -> tuple[int, int, Repair | None]:
    """Return (start, end, repair) such that text[start:end] == span_text, or raise SpanMismatch.

    The offsets are read in every convention the text allows (code points; UTF-16 units if the
    text has astral characters; CRLF counts if it has line ends). If two readings put the text
    at different places, the intended place is unknown: an error, never a pick."""
    length = len(text)
    places: dict[tuple[int, int], Repair | None] = {}
    if 0 <= start < end <= length and text[start:end] == span_text:
        places[(start, end)] = None
    wanted = span_text.replace("\r\n", "\n")
    for repair, kind in _CONVENTIONS:
        positions, units = _wide(text, kind)
        if positions:  # the text has characters this convention counts twice
            s, e = _reading(positions, units, start, length), _reading(positions, units, end, length)
            if 0 <= s < e and (s, e) not in places and text[s:e] == wanted:
                places[(s, e)] = repair
    if len(places) > 1:
        shown = ", ".join(f"{s}-{e} ({repair or 'as code points'})" for (s, e), repair in places.items())
        raise SpanMismatch(
            f"its offsets {start}-{end} put its text {_clip(span_text)!r} at more than one place depending on how "
            f"they are counted ({shown}), so the intended place is ambiguous"
        )
    if places:
        (s, e), repair = next(iter(places.items()))
        return s, e, repair
    if not wanted:
        raise SpanMismatch("the span's text is empty")
    first = text.find(wanted)
    if first == -1:
        raise SpanMismatch(f"its text {_clip(span_text)!r} does not occur in the article")
    if text.find(wanted, first + 1) != -1:
        raise SpanMismatch(
            f"its offsets {start}-{end} do not reproduce its text {_clip(span_text)!r}, "
            "which occurs more than once in the article, so the intended place is ambiguous"
        )
    return first, first + len(wanted), "unique_text_match"


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=16)
def _newlines(text: str) -> tuple[np.ndarray, np.ndarray]:
    """`_wide(text, "newline")` as numpy arrays, for reading many offsets at once."""
    positions, units = _wide(text, "newline")
    return np.array(positions, dtype=np.int64), np.array(units, dtype=np.int64)


def exact_places(text: str, starts: list[int], ends: list[int], span_texts: list[str]) -> bool:
    """True when `locate_span` would accept every span's offsets unchanged: each gives its text
    read as code points, and no other reading of them (`_CONVENTIONS`) puts the text elsewhere.
    The newline reading of all the offsets is computed at once (the `_reading` formula over
    arrays); a text with astral characters, rare, asks `locate_span` span by span."""
    length = len(text)
    if not starts:
        return True
    if _wide(text, "astral")[0]:
        return all(_unchanged(text, s, e, t) for s, e, t in zip(starts, ends, span_texts, strict=True))
    positions, units = _newlines(text)
    if len(positions):
        offsets = np.array([starts, ends], dtype=np.int64)
        k = np.searchsorted(units, offsets, "left")
        after_wide = np.where(k > 0, positions[np.maximum(k - 1, 0)] + 1, 0)
        read_starts, read_ends = np.minimum(length, np.maximum(offsets - k, after_wide)).tolist()
    else:
        read_starts, read_ends = starts, ends
    for s, e, t, a, b in zip(starts, ends, span_texts, read_starts, read_ends, strict=True):
        if not (0 <= s < e <= length and text[s:e] == t) or "\r" in t:
            return False
        if (a != s or b != e) and 0 <= a < b and text[a:b] == t:
            return False  # ambiguous: the per-span path names both places
    return True


def _unchanged(text: str, start: int, end: int, span_text: str) -> bool:
    try:
        return locate_span(text, start, end, span_text) == (start, end, None)
    except SpanMismatch:
        return False
