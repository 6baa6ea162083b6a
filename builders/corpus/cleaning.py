"""Named, versioned cleaning rules. Nothing is removed without a rule and a record.

Each removal is recorded as `{"rule", "line", "text"}` (line = 1-based line of the source
file), each flag as `{"rule", "line", "text", "repeats_line"}` on the cleaned text. A new
rule gets a new name (`_v2`) so an old corpus record still says what was done to it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

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


def flag_repeats(text: str) -> list[dict]:
    """Rule `repeated_paragraph_v1`: paragraphs the article repeats (kept, but flagged)."""
    flags: list[dict] = []
    earlier: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) < REPEAT_MIN_CHARS:
            continue
        for prev_number, prev in earlier:
            blocks = difflib.SequenceMatcher(None, prev, line, autojunk=False).get_matching_blocks()
            common = sum(b.size for b in blocks if b.size >= REPEAT_MIN_RUN)
            coverage = common / min(len(prev), len(line))
            if coverage >= REPEAT_COVERAGE:
                flags.append(
                    {
                        "rule": "repeated_paragraph_v1",
                        "line": number,
                        "text": line[:80],
                        "repeats_line": prev_number,
                        "coverage": round(coverage, 3),
                    }
                )
                break
        earlier.append((number, line))
    return flags
