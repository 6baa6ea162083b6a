"""Span offsets: accepted only when they reproduce the span's text; known Label Studio bugs repaired."""

from __future__ import annotations

import pytest

from builders.build.offsets import SpanMismatch, locate_span

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
