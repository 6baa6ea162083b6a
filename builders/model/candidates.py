"""Claim candidates: sentences from BlingFire (rule-based, its rules ship in the wheel, nothing
downloaded) and their clauses. BlingFire replaced pysbd, more than ten times slower, and gives
the same candidates on the committed and the generated articles (tests/model compares them
with pysbd's).

A claim span is usually one sentence or one clause of it, without the closing punctuation
(label-schema.md). Each sentence gives itself and, at its first and last clause boundary
(comma, semicolon, colon or dash), the part before and the part after: at most five
candidates, all exact character ranges of the article text. The detection model chooses
among them; candidates of one sentence overlap, so the chosen ones are de-overlapped.
"""

from __future__ import annotations

import ctypes
import platform
import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np

from builders.errors import fail

Kind = Literal["sentence", "before", "after"]
KINDS: tuple[Kind, ...] = ("sentence", "before", "after")
_BOUNDARY = re.compile(r"[,;:]\s+|\s+[—–-]\s+")
_STRIP = " \t\n\"'“”‘’"
_CLOSING = ".!?…"
_BULLETS = "-–—•*·▪"  # a list item's marker is not part of its claim
MIN_WORDS = 3  # a shorter clause is not a claim on its own


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    kind: Kind
    sentence: int  # index of its sentence in the article
    coverage: float  # its share of the sentence's characters
    position: float  # where its sentence sits in the article, 0 (first) to 1 (last)


@cache
def blingfire_library() -> ctypes.CDLL:
    """The C library the `blingfire` package loads; its wheel carries x86-64 builds only, so on
    another processor the import fails with an OSError, said here with what to do."""
    try:
        from blingfire import blingfire as library
    except OSError as exc:
        fail(
            f"the sentence segmenter BlingFire cannot load its C library on this {platform.machine()} machine ({exc})",
            fix="run the model commands with an x86-64 Python (the blingfire wheel has no other build); "
            "`khc build` and the Label Studio commands do not need it",
        )
    return library


def segments(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of BlingFire's sentences of `text`. Its C library is called
    directly: `blingfire.text_to_sentences_and_offsets` maps UTF-8 offsets to characters in a
    Python loop over every byte (most of its time); numpy does that here, for non-ASCII text."""
    if not text:
        return []
    raw = text.encode("utf-8")
    size = 2 * len(raw) + 16  # as blingfire's own wrapper allocates
    out, starts, ends = ctypes.create_string_buffer(size), (ctypes.c_int32 * size)(), (ctypes.c_int32 * size)()
    length = blingfire_library().TextToSentencesWithOffsets(
        ctypes.c_char_p(raw), ctypes.c_int(len(raw)), ctypes.byref(out), starts, ends, ctypes.c_int(size)
    )
    if length <= 0 or length > size:
        return []
    count = out.raw[:length].count(b"\n") + 1
    first = np.frombuffer(starts, dtype=np.int32, count=count).astype(np.int64)
    last = np.frombuffer(ends, dtype=np.int32, count=count).astype(np.int64)  # inclusive
    if len(raw) != len(text):  # UTF-8 byte offsets → character offsets
        char_of = np.cumsum((np.frombuffer(raw, dtype=np.uint8) & 0xC0) != 0x80) - 1
        first, last = char_of[first], char_of[last]
    return list(zip(first.tolist(), (last + 1).tolist(), strict=True))


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence, trimmed of spaces, quotes and closing punctuation."""
    spans = []
    for start, end in segments(text):
        while start < end and text[start].isspace():  # as str.strip() of the sentence
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        for line_start, line_end in _lines(text, start, end):  # a heading line is its own unit
            trimmed = _trim(text, line_start, line_end)
            if trimmed:
                spans.append(trimmed)
    return spans


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, at = [], start
    while (newline := text.find("\n", at, end)) >= 0:
        out.append((at, newline))
        at = newline + 1
    out.append((at, end))
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and (text[start] in _STRIP or (text[start] in _BULLETS and text[start + 1 : start + 2] == " ")):
        start += 1
    while end > start and (text[end - 1] in _STRIP or text[end - 1] in _CLOSING):
        end -= 1
    return (start, end) if end > start else None


def _words(text: str, start: int, end: int) -> int:
    return len(text[start:end].split())


def candidates(text: str) -> list[Candidate]:
    """Every candidate of an article, in text order."""
    found = sentences(text)
    out: list[Candidate] = []
    last = max(len(found) - 1, 1)
    for index, (start, end) in enumerate(found):
        position = index / last
        length = end - start
        out.append(Candidate(start, end, "sentence", index, 1.0, position))
        boundaries = list(_BOUNDARY.finditer(text, start, end))
        if not boundaries:
            continue
        chosen = {boundaries[0].span(), boundaries[-1].span()}
        pieces: set[tuple[int, int, Kind]] = set()
        for cut_start, cut_end in chosen:
            for piece_start, piece_end, kind in ((start, cut_start, "before"), (cut_end, end, "after")):
                trimmed = _trim(text, piece_start, piece_end)
                if trimmed and _words(text, *trimmed) >= MIN_WORDS and trimmed != (start, end):
                    pieces.add((*trimmed, kind))
        for piece_start, piece_end, kind in sorted(pieces):
            out.append(Candidate(piece_start, piece_end, kind, index, (piece_end - piece_start) / length, position))
    return out
