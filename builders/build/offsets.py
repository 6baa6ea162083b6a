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

Repair = Literal["utf16_offsets", "crlf_offsets", "unique_text_match"]


@lru_cache(maxsize=16)
def _positions(text: str, kind: Literal["astral", "newline"]) -> list[int]:
    """Where the text has astral characters (two UTF-16 units) or line ends; cached, since every
    span of an article asks about the same text."""
    if kind == "newline":
        return [m.start() for m in re.finditer("\n", text)]
    return [m.start() for m in _ASTRAL.finditer(text)]


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _reading(text: str, offset: int, wide: list[int]) -> int:
    """The code-point index an offset means when each character at a `wide` position counts twice:
    the first index whose count of units before it reaches `offset` (or the text's end)."""
    return min(len(text), bisect_left(range(len(text) + 1), offset, key=lambda i: i + bisect_left(wide, i)))


def _utf16_to_codepoint(text: str, offset: int) -> int:
    return _reading(text, offset, _positions(text, "astral"))


def _crlf_to_lf(text: str, offset: int) -> int:
    """Offset counted on the text with every \\n written as \\r\\n, mapped to the text itself."""
    return _reading(text, offset, _positions(text, "newline"))


class SpanMismatch(ValueError):
    pass


def locate_span(text: str, start: int, end: int, span_text: str) -> tuple[int, int, Repair | None]:
    """Return (start, end, repair) such that text[start:end] == span_text, or raise SpanMismatch.

    The offsets are read in every convention the text allows (code points; UTF-16 units if the
    text has astral characters; CRLF counts if it has line ends). If two readings put the text
    at different places, the intended place is unknown: an error, never a pick."""
    wanted = span_text.replace("\r\n", "\n")
    readings: list[tuple[Repair | None, int, int]] = [(None, start, end)]
    if _positions(text, "astral"):
        readings.append(("utf16_offsets", _utf16_to_codepoint(text, start), _utf16_to_codepoint(text, end)))
    if _positions(text, "newline"):
        readings.append(("crlf_offsets", _crlf_to_lf(text, start), _crlf_to_lf(text, end)))
    places: dict[tuple[int, int], Repair | None] = {}
    for repair, s, e in readings:
        exact = span_text if repair is None else wanted
        if 0 <= s < e <= len(text) and text[s:e] == exact and (s, e) not in places:
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
