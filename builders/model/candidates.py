"""Claim candidates: sentences from `pysbd` (rule-based, nothing downloaded) and their clauses.

A claim span is usually one sentence or one clause of it, without the closing punctuation
(label-schema.md). Each sentence gives itself and, at its first and last clause boundary
(comma, semicolon, colon or dash), the part before and the part after: at most five
candidates, all exact character ranges of the article text. The detection model chooses
among them; candidates of one sentence overlap, so the chosen ones are de-overlapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

import pysbd
from pysbd.lang.english import English

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


_METACHARACTERS = re.compile(r"[.^$*+?{}\[\]\\|()]")


def _before_periods(line: str) -> set[str]:
    """Every run of a word's characters from its start up to one of its periods, lowercased."""
    return {word[:i].lower() for word in line.split() for i, ch in enumerate(word) if ch == "." and i}


class _English(English):
    """pysbd's English, with the same abbreviation handling done faster. pysbd tries each of its
    ~200 abbreviations on every line (a findall over the line for each one it finds as a
    substring: half of its time). An abbreviation only changes a line where it is the whole
    start of a word right before a period (every rule it applies replaces that period), and
    replacing periods never makes a new one, so the ones that cannot match that are skipped:
    the same sentences (tests/model compares them with pysbd's own)."""

    class AbbreviationReplacer(English.AbbreviationReplacer):
        def search_for_abbreviations_in_string(self, text: str) -> str:
            tokens = _before_periods(text)
            if not tokens:
                return text
            lowered = text.lower()
            for abbr in self.lang.Abbreviation.ABBREVIATIONS:
                stripped = abbr.strip()
                if stripped not in lowered or not _may_match(stripped, tokens):
                    continue
                # from here on as pysbd 0.3.4's AbbreviationReplacer.search_for_abbreviations_in_string
                abbrev_match = re.findall(rf"(?:^|\s|\r|\n){stripped}", text, flags=re.IGNORECASE)
                if not abbrev_match:
                    continue
                next_word_start = r"(?<={" + str(re.escape(stripped)) + "} ).{1}"
                char_array = re.findall(next_word_start, text)
                for ind, match in enumerate(abbrev_match):
                    text = self.scan_for_replacements(text, match, ind, char_array)
            return text


def _may_match(stripped: str, tokens: set[str]) -> bool:
    if _METACHARACTERS.search(stripped):  # pysbd uses the abbreviation as a pattern, unescaped
        return any(re.fullmatch(stripped, token, re.IGNORECASE) for token in tokens)
    return stripped.lower() in tokens


@cache
def _segmenter(fast: bool = True) -> pysbd.Segmenter:
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=False)
    if fast:
        segmenter.language_module = _English
    return segmenter


def _segments(text: str, fast: bool = True) -> list[str]:
    """pysbd's sentences. `Segmenter.segment` also locates each one with a regex compiled per
    sentence and run over the whole text (most of its time); `str.find` below does that."""
    return _segmenter(fast).processor(text).process() if text else []


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence, trimmed of spaces, quotes and closing punctuation."""
    spans, cursor = [], 0
    for piece in _segments(text):
        stripped = piece.strip()
        if not stripped:
            continue
        start = text.find(stripped, cursor)
        if start < 0:  # pysbd changed the text (it should not with clean=False): keep what we can
            continue
        end = start + len(stripped)
        cursor = end
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
