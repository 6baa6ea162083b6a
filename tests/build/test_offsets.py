"""Span offsets: accepted only when they reproduce the span's text; known Label Studio bugs repaired."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from builders.build.offsets import SpanMismatch, _crlf_to_lf, _utf16_to_codepoint, exact_places, locate_span
from builders.build.parse import Where
from builders.build.parse import _span_offsets as span_offsets  # the reader's span path, one span at a time
from builders.errors import Problem

TEXT = "Intro 😀 line.\nKetamine works fast.\nKetamine is safe."


def test_exact_offsets_are_accepted_unchanged():
    start = TEXT.index("works fast")
    assert locate_span(TEXT, start, start + 10, "works fast") == (start, start + 10, None)


def test_utf16_offsets_after_an_emoji_are_repaired():
    start = TEXT.index("works fast") + 1  # the emoji is two UTF-16 code units
    assert locate_span(TEXT, start, start + 10, "works fast") == (start - 1, start + 9, "utf16_offsets")


def test_crlf_offsets_are_repaired():
    text = "a\nb\nKetamine is safe.\nKetamine is safe."
    crlf = text.replace("\n", "\r\n")
    start = crlf.rindex("Ketamine is safe")  # the second, ambiguous occurrence
    got = locate_span(text, start, start + 16, "Ketamine is safe")
    assert got == (text.rindex("Ketamine is safe"), text.rindex("Ketamine is safe") + 16, "crlf_offsets")


def test_unique_text_pins_the_place_when_offsets_are_just_wrong():
    start = TEXT.index("is safe")
    assert locate_span(TEXT, 0, 7, "is safe") == (start, start + 7, "unique_text_match")


def test_ambiguous_text_is_an_error_never_a_guess():
    with pytest.raises(SpanMismatch, match="more than once"):
        locate_span(TEXT, 0, 8, "Ketamine")


def test_text_not_in_article_is_an_error():
    with pytest.raises(SpanMismatch, match="does not occur"):
        locate_span(TEXT, 0, 4, "cure")


def test_out_of_range_offsets_do_not_crash():
    with pytest.raises(SpanMismatch):
        locate_span(TEXT, 500, 510, "Ketamine")


# -- property-based: random texts and spans in the conventions Label Studio may use ---------------

# Letters and spaces, line ends, astral characters (two UTF-16 units each), combining marks,
# zero-width joiners and emoji sequences built with them.
PIECES = ["a", "b", "k", " ", " ", "\n", "😀", "𝔸", "🙂", "e\u0301", "\u0308", "\u200d", "👩\u200d⚕️", "é"]
CONVENTIONS = ("code_points", "utf16", "crlf")


def utf16_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


@st.composite
def text_and_span(draw):
    text = "".join(draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=40)))
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, len(text)))
    convention = draw(st.sampled_from(CONVENTIONS))
    return text, start, end, convention


def as_label_studio_sent_it(text: str, start: int, end: int, convention: str) -> tuple[int, int, str]:
    """The span's offsets and text as a tool using `convention` reports them."""
    span = text[start:end]
    if convention == "utf16":
        return utf16_offset(text, start), utf16_offset(text, end), span
    if convention == "crlf":  # counted on the text as shown with \r\n line ends
        return start + text[:start].count("\n"), end + text[:end].count("\n"), span.replace("\n", "\r\n")
    return start, end, span


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(text_and_span())
@example(("😀aaa", 1, 2, "utf16"))  # the UTF-16 offsets of the first "a" are the code points of the second
@example(("a\naa", 2, 3, "crlf"))  # the CRLF offsets of the first "a" on line 2 land on the second
def test_a_span_lands_exactly_on_its_text_or_fails_never_elsewhere(case):
    text, start, end, convention = case
    sent_start, sent_end, sent_text = as_label_studio_sent_it(text, start, end, convention)
    try:
        found_start, found_end, repair = locate_span(text, sent_start, sent_end, sent_text)
    except SpanMismatch as exc:
        assert str(exc)  # a clear error, never a guess
        return
    assert (found_start, found_end) == (start, end), "a span placed on other text than the one drawn"
    assert text[found_start:found_end] == sent_text.replace("\r\n", "\n")
    # Moved offsets are a repair, and a repair is named (so the build counts it).
    assert (repair is None) == ((sent_start, sent_end) == (start, end))


@PROPERTY
@given(text_and_span())
def test_code_point_offsets_of_a_unique_text_are_always_accepted(case):
    text, start, end, _ = case
    if text.count(text[start:end]) > 1:
        return
    assert locate_span(text, start, end, text[start:end]) == (start, end, None)


class Sink:
    """What the reader gives the span path: problems, counts and the report."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.counts: Counter = Counter()
        self.report: dict[str, list] = {"repairs": []}

    def problem(self, what: str, file: str, record: str, fix: str | None = None) -> None:
        self.problems.append(Problem(what, file, record, fix))


@settings(max_examples=100, deadline=None)
@given(text_and_span())
def test_the_readers_span_path_counts_every_repair_and_records_every_failure(case):
    text, start, end, convention = case
    sent_start, sent_end, sent_text = as_label_studio_sent_it(text, start, end, convention)
    reader = Sink()
    value = {"start": sent_start, "end": sent_end, "text": sent_text}
    got = span_offsets(value, "r1", text, Where("snapshot.json", "task 1", "snapshot.json#0"), reader)
    if got is None:
        assert len(reader.problems) == 1 and "span offsets" in reader.problems[0].what
        assert reader.problems[0].fix
        return
    assert got == (start, end) and not reader.problems
    repaired = sum(n for key, n in reader.counts.items() if key.startswith("span_repaired_"))
    assert repaired == len(reader.report["repairs"]) == (0 if (sent_start, sent_end) == got else 1)


def units_before(text: str, index: int, convention: str) -> int:
    """How many units the first `index` code points count as in `convention`."""
    if convention == "utf16":
        return utf16_offset(text, index)
    return index + text[:index].count("\n")


@PROPERTY
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.integers(-3, 90), st.sampled_from(["utf16", "crlf"]))
def test_a_reading_is_the_first_index_whose_units_reach_the_offset(pieces, offset, convention):
    """The closed-form readings (one bisection per offset) agree with their definition, counted
    out character by character."""
    text = "".join(pieces)
    read = _utf16_to_codepoint if convention == "utf16" else _crlf_to_lf
    expected = next((i for i in range(len(text) + 1) if units_before(text, i, convention) >= offset), len(text))
    assert read(text, offset) == expected


def accepted_unchanged(text: str, start: int, end: int, span_text: str) -> bool:
    try:
        return locate_span(text, start, end, span_text) == (start, end, None)
    except SpanMismatch:
        return False


@PROPERTY
@given(st.lists(text_and_span(), min_size=1, max_size=6), st.sampled_from(["", "😀"]), st.integers(-2, 2))
@example([("a\naa", 3, 4, "code_points")], "", 0)  # the CRLF reading of these offsets puts "a" elsewhere too
@example([("aa", 0, 1, "code_points")], "😀", 1)  # and the UTF-16 reading of these
def test_exact_places_agrees_with_locate_span(cases, prefix, shift):
    """`exact_places` (all of a task's spans at once, the newline reading over arrays) says
    yes exactly when `locate_span` accepts every span's offsets unchanged. The spans are drawn on
    one text (the first case's, with or without an astral character before it), some in the
    conventions Label Studio may use and some shifted, so that some are ambiguous or wrong."""
    text = prefix + cases[0][0]
    spans = []
    for drawn, start, end, convention in cases:
        start, end = min(start, len(drawn) - 1), min(end, len(drawn))
        sent_start, sent_end, sent_text = as_label_studio_sent_it(drawn, start, end, convention)
        spans.append((sent_start + len(prefix) + shift, sent_end + len(prefix) + shift, sent_text))
    starts, ends, texts = (list(column) for column in zip(*spans, strict=True))
    expected = all(accepted_unchanged(text, *span) for span in spans)
    assert exact_places(text, starts, ends, texts) == expected
    for span in spans:  # and one span at a time
        assert exact_places(text, [span[0]], [span[1]], [span[2]]) == accepted_unchanged(text, *span)
