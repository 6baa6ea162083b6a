"""What `khc ingest` refuses before a text becomes an article: pages that are not articles,
too little prose, invisible-only text, malformed dates and unknown condition names.

Rule set `not_an_article_v1` (on top of trafilatura, which already drops elements whose class
or id marks them as cookie, consent or paywall furniture): a paragraph is boilerplate when it
matches one of `BOILERPLATE_V1`'s patterns. A page is refused when it holds a paywall or
login wall (the text is cut off or hidden), or when its boilerplate paragraphs outweigh its
prose. Prose is the words of lines of at least `PROSE_LINE_WORDS` words that are not
boilerplate; an article needs at least `MIN_PROSE_WORDS` of them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from builders.corpus.cleaning import CONDITIONS_V1

MIN_PROSE_WORDS = 40
PROSE_LINE_WORDS = 6

BOILERPLATE_V1: dict[str, re.Pattern[str]] = {
    "cookie consent": re.compile(
        r"\b(we|our (\d+ )?partners)( and our \d+ partners)? (use|store|access)\b.{0,40}\bcookies\b"
        r"|\b(accept|reject|allow|decline) (all )?cookies\b|\bcookie (policy|settings|preferences|consent|notice)\b"
        r"|\b(manage|customi[sz]e) (your )?(cookie|privacy|consent) (settings|preferences|choices|options)\b"
        r"|\bconsent to (the use of )?cookies\b|\bby (continuing|clicking|using)\b.{0,60}\b(agree|consent)\b",
        re.I | re.S,
    ),
    "login wall": re.compile(
        r"\b(sign|log) ?in to (continue|read|view|access|your account)\b|\bforgot (your )?password\b"
        r"|\bcreate (a free |an )?account to (continue|read)\b|\bremember me\b.{0,40}\b(sign|log) ?in\b",
        re.I | re.S,
    ),
    "paywall": re.compile(
        r"\bsubscribe (now |today )?to (continue|keep) reading\b|\bto continue reading\b.{0,60}\bsubscri"
        r"|\b(this|the) (article|story|content) is (only )?(available|reserved) (only )?(to|for) "
        r"(paying )?subscribers\b"
        r"|\balready a subscriber\b|\bsubscribers only\b|\bunlock (this|the full) (article|story)\b",
        re.I | re.S,
    ),
}
WALLS = ("login wall", "paywall")


def not_an_article(text: str) -> str | None:
    """Why `text` is not an article (rule `not_an_article_v1`), or None if it is one."""
    visible = "".join(c for c in text if not c.isspace() and unicodedata.category(c) not in {"Cf", "Cc", "Zs"})
    if not visible:
        return "the text has no visible characters (only whitespace, zero-width or format characters)"
    prose = boiler = 0
    kinds: dict[str, int] = {}
    for line in text.split("\n"):
        words = len(line.split())
        kind = next((k for k, pattern in BOILERPLATE_V1.items() if pattern.search(line)), None)
        if kind:
            kinds[kind] = kinds.get(kind, 0) + 1
            boiler += words
        elif words >= PROSE_LINE_WORDS:
            prose += words
    walls = [k for k in WALLS if k in kinds]
    if walls:
        return f"it is a {' and '.join(walls)} page: the article text is cut off or hidden behind it"
    if boiler and boiler >= prose:
        return f"it is mostly {', '.join(sorted(kinds))} boilerplate ({boiler} words of it, {prose} words of prose)"
    if prose < MIN_PROSE_WORDS:
        return (
            f"it has {prose} words of prose (lines of {PROSE_LINE_WORDS} words or more); "
            f"an article has at least {MIN_PROSE_WORDS}"
        )
    return None


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_date(value: str | None, name: str) -> str | None:
    """`value` if it is a real calendar date written YYYY-MM-DD (ISO 8601), else a ValueError."""
    if value is None:
        return None
    if not ISO_DATE.match(value):
        raise ValueError(f"{name} {value!r} is not a date written YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{name} {value!r} is not a calendar date ({exc})") from None
    return value


def condition_names(given: list[str]) -> list[str]:
    """The given condition names in their declared spelling (rule `conditions_keywords_v1`'s list);
    a ValueError for an empty or unknown name."""
    known = {name.casefold(): name for name in CONDITIONS_V1}
    names = []
    for raw in given:
        name = raw.strip()
        if not name:
            raise ValueError("a condition name is empty (two commas in a row, or a trailing comma?)")
        if name.casefold() not in known:
            raise ValueError(f"unknown condition {name!r}; known: {', '.join(CONDITIONS_V1)}")
        if known[name.casefold()] not in names:
            names.append(known[name.casefold()])
    return names
