"""Named, versioned cleaning rules. Nothing is removed without a rule and a record.

Each removal is recorded as `{"rule", "line", "text"}` (line = 1-based line of the source
file), each flag as `{"rule", "line", "text", "repeats_line"}` on the cleaned text. A new
rule gets a new name (`_v2`) so an old corpus record still says what was done to it.
"""

from __future__ import annotations

import difflib
import heapq
import re
import unicodedata
from collections import Counter
from itertools import chain, repeat

# Site chrome seen in the seed articles: navigation labels and page furniture, not content.
SITE_CHROME_V1 = frozenset(
    {
        "Diseases & ConditionsLifestyleTrending",
        "Related Articles",
        "Related Posts",
        "Back to top button",
        "Back to top",
    }
)

REPEAT_MIN_CHARS = 80  # shorter lines (headings, list items) are not compared
# Share of the shorter paragraph covered by common runs of at least REPEAT_MIN_RUN characters
# at or above which a paragraph counts as repeating an earlier one. (difflib's plain ratio
# misses a repeat that was extended by a sentence.)
REPEAT_COVERAGE = 0.85
REPEAT_MIN_RUN = 8

CONDITIONS_V1: dict[str, re.Pattern[str]] = {
    "ADHD": re.compile(r"\bADHD\b|attention[- ]deficit", re.I),
    "anxiety": re.compile(r"\banxiety\b", re.I),
    "depression": re.compile(r"\bdepression\b|\bdepressive\b", re.I),
    "PTSD": re.compile(r"\bPTSD\b|post-traumatic stress", re.I),
    "chronic pain": re.compile(r"\bchronic pain\b", re.I),
    "OCD": re.compile(r"\bOCD\b|obsessive[- ]compulsive", re.I),
    "bipolar disorder": re.compile(r"\bbipolar\b", re.I),
    "substance use disorder": re.compile(r"\b(substance|alcohol) use disorder\b|\baddiction treatment\b", re.I),
}


def detect_conditions(text: str) -> list[str]:
    """Rule `conditions_keywords_v1`: conditions the text names, in declared order."""
    return [name for name, pattern in CONDITIONS_V1.items() if pattern.search(text)]


def clean_text(raw: str, title: str | None) -> tuple[str, list[dict], list[dict]]:
    """Return (text, removals, flags) for a raw article text."""
    removals: list[dict] = []
    text = raw
    if "\r" in text:
        removals.append({"rule": "line_endings_v1", "line": None, "text": f"{text.count(chr(13))} CR characters"})
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = strip_invisible_controls(text, removals)
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text:
        removals.append({"rule": "unicode_nfc_v1", "line": None, "text": "normalised to NFC"})
        text = nfc
    if text.startswith("\ufeff"):
        removals.append({"rule": "byte_order_mark_v1", "line": 1, "text": "U+FEFF"})
        text = text[1:]

    kept: list[str] = []
    title_seen = False
    title_key = title.strip().casefold() if title else None
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped in SITE_CHROME_V1:
            removals.append({"rule": "site_chrome_v1", "line": number, "text": stripped})
            continue
        if line and not stripped:
            removals.append({"rule": "whitespace_only_line_v1", "line": number, "text": repr(line)})
            line = ""
        elif line != line.rstrip():
            removals.append(
                {"rule": "trailing_whitespace_v1", "line": number, "text": repr(line[len(line.rstrip()) :])}
            )
            line = line.rstrip()
        if title_key and stripped.casefold() == title_key:
            if title_seen:
                removals.append({"rule": "repeated_title_v1", "line": number, "text": stripped})
                continue
            title_seen = True
        kept.append(line)

    # Removing lines can leave runs of blank lines and blank edges: collapse to one blank line.
    collapsed: list[str] = []
    for line in kept:
        if line == "" and (not collapsed or collapsed[-1] == ""):
            continue
        collapsed.append(line)
    while collapsed and collapsed[-1] == "":
        collapsed.pop()
    cleaned = "\n".join(collapsed)
    return cleaned, removals, flag_repeats(cleaned)


# C0 controls except \t and \n (\r is line_endings_v1's), DEL, and the C1 controls: never text.
CONTROL_CHARACTERS_V1 = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069): they reorder what a reader
# sees without changing the characters, so a span could show other text than it holds.
BIDI_CONTROLS_V1 = re.compile("[\u202a-\u202e\u2066-\u2069]")


def strip_invisible_controls(text: str, removals: list[dict]) -> str:
    """Rules `control_characters_v1` and `bidi_controls_v1`: removed, counted per line."""
    if not (CONTROL_CHARACTERS_V1.search(text) or BIDI_CONTROLS_V1.search(text)):
        return text  # the usual case: nothing to look at line by line
    lines = text.split("\n")
    for rule, pattern in (("control_characters_v1", CONTROL_CHARACTERS_V1), ("bidi_controls_v1", BIDI_CONTROLS_V1)):
        for number, line in enumerate(lines, start=1):
            found = Counter(pattern.findall(line))
            if found:
                shown = ", ".join(f"{n} x U+{ord(c):04X}" for c, n in sorted(found.items()))
                removals.append({"rule": rule, "line": number, "text": shown})
                lines[number - 1] = pattern.sub("", line)
    return "\n".join(lines)


def flag_repeats(text: str) -> list[dict]:
    """Rule `repeated_paragraph_v2`: paragraphs the article repeats (kept, but flagged).

    The same test as v1 (difflib coverage of the shorter paragraph by common runs), but a
    paragraph is compared only with the earlier ones that share at least a
    `REPEAT_MIN_SHARED` share of its word trigrams (at most `REPEAT_MAX_CANDIDATES` of them,
    earliest first), found through an index whose lists stop at `REPEAT_MAX_POSTINGS`: the work
    grows linearly with the text, where v1 compared every pair. It flags what v1 flagged in
    the seed articles."""
    flags: list[dict] = []
    earlier: list[tuple[int, str, int]] = []  # (line number, paragraph, number of its trigrams)
    index: dict[tuple[str, ...], list[int]] = {}
    first_copy: dict[str, int] = {}  # an exact repeat is always a candidate, whatever the index holds
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) < REPEAT_MIN_CHARS:
            continue
        grams = _trigrams(line)
        candidates = _repeat_candidates(grams, index, earlier)
        if line in first_copy and first_copy[line] not in candidates:
            candidates = sorted([*candidates[: REPEAT_MAX_CANDIDATES - 1], first_copy[line]])
        for position in candidates:
            prev_number, prev, _ = earlier[position]
            coverage = repeat_coverage(prev, line)
            if coverage >= REPEAT_COVERAGE:
                flags.append(
                    {
                        "rule": "repeated_paragraph_v2",
                        "line": number,
                        "text": line[:80],
                        "repeats_line": prev_number,
                        "coverage": round(coverage, 3),
                    }
                )
                break
        for gram in grams:
            postings = index.setdefault(gram, [])
            if len(postings) < REPEAT_MAX_POSTINGS:
                postings.append(len(earlier))
        first_copy.setdefault(line, len(earlier))
        earlier.append((number, line, len(grams)))
    return flags


REPEAT_MIN_SHARED = 0.3
REPEAT_MAX_CANDIDATES = 8
REPEAT_MAX_POSTINGS = 8


def repeat_coverage(prev: str, line: str) -> float:
    """Share of the shorter paragraph covered by common runs of REPEAT_MIN_RUN characters or more."""
    if prev == line:
        return 1.0
    blocks = difflib.SequenceMatcher(None, prev, line, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks if b.size >= REPEAT_MIN_RUN) / min(len(prev), len(line))


def _trigrams(line: str) -> set[tuple[str, ...]]:
    words = line.casefold().split()
    return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def _repeat_candidates(grams: set, index: dict, earlier: list) -> list[int]:
    """Earlier paragraphs sharing enough trigrams, the best REPEAT_MAX_CANDIDATES, in text order."""
    shared = Counter(chain.from_iterable(map(index.get, grams, repeat(()))))
    size = len(grams)
    chosen = [
        (count, position)
        for position, count in shared.items()
        if count >= REPEAT_MIN_SHARED * min(size, earlier[position][2])
    ]
    return sorted(position for _, position in heapq.nlargest(REPEAT_MAX_CANDIDATES, chosen))
