"""Cleaning rules: control and bidi characters counted and stripped, repeats found in linear work."""

from __future__ import annotations

import random
import sys

import builders.corpus.cleaning as cleaning
from builders.corpus.cleaning import clean_text, flag_repeats
from builders.corpus.records import read_records
from builders.project import load_project
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from generate import article_text


def test_control_characters_are_stripped_and_counted_per_line():
    raw = "Ketamine\x00 is given\x1b in clinics.\nNothing here.\nDoses\x85 vary\x00\x00.\tTabs stay."
    text, removals, _ = clean_text(raw, None)
    assert text == "Ketamine is given in clinics.\nNothing here.\nDoses vary.\tTabs stay."
    logged = [(r["rule"], r["line"], r["text"]) for r in removals]
    assert logged == [
        ("control_characters_v1", 1, "1 x U+0000, 1 x U+001B"),
        ("control_characters_v1", 3, "2 x U+0000, 1 x U+0085"),
    ]


def test_bidi_overrides_are_stripped_and_counted():
    raw = "Safe \u202eesahc\u202c and \u2066isolated\u2069 text."
    text, removals, _ = clean_text(raw, None)
    assert text == "Safe esahc and isolated text."
    assert [(r["rule"], r["text"]) for r in removals] == [
        ("bidi_controls_v1", "1 x U+202C, 1 x U+202E, 1 x U+2066, 1 x U+2069")
    ]


def test_zero_width_joiners_inside_text_are_kept():
    raw = "A family emoji 👩\u200d👩\u200d👧 stays whole."
    text, removals, _ = clean_text(raw, None)
    assert text == raw and not removals


def test_the_seed_articles_get_the_flags_they_were_ingested_with():
    """v2 finds the same repeats as v1 (whose flags the committed records hold), under its own name."""
    for record in read_records(load_project(REPO)):
        found = [{**flag, "rule": "repeated_paragraph_v1"} for flag in flag_repeats(record["text"])]
        assert found == record["flags"], record["article_id"]
    assert any(record["flags"] for record in read_records(load_project(REPO)))


def one_megabyte(rng: random.Random) -> str:
    parts, size = [], 0
    while size < 1_000_000:
        parts.append(article_text(rng, len(parts)))
        size += len(parts[-1]) + 1
    return "\n".join(parts)


def test_repeats_in_a_megabyte_take_linear_work(monkeypatch):
    """Count the paragraph comparisons: v1 made one per pair of long paragraphs (quadratic)."""
    calls = []
    compare = cleaning.repeat_coverage
    monkeypatch.setattr(cleaning, "repeat_coverage", lambda a, b: calls.append(1) or compare(a, b))
    rng = random.Random(7)
    distinct = one_megabyte(rng)
    long_lines = sum(1 for line in distinct.split("\n") if len(line) >= cleaning.REPEAT_MIN_CHARS)
    assert flag_repeats(distinct) == []
    assert len(calls) <= long_lines  # random paragraphs share few trigrams: hardly any comparison

    calls.clear()
    paragraphs = distinct.split("\n")[:200]
    repeated = "\n".join(paragraphs * 8)  # about 1 MB again
    long_lines = sum(1 for line in repeated.split("\n") if len(line) >= cleaning.REPEAT_MIN_CHARS)
    flags = flag_repeats(repeated)
    originals = sum(1 for line in paragraphs if len(line) >= cleaning.REPEAT_MIN_CHARS)
    assert len(flags) == long_lines - originals  # every copy is flagged ...
    assert all(repeated.split("\n")[f["repeats_line"] - 1] == repeated.split("\n")[f["line"] - 1] for f in flags)
    assert len(calls) <= cleaning.REPEAT_MAX_CANDIDATES * long_lines  # ... with bounded work per paragraph


def test_a_repeat_extended_by_a_sentence_is_still_flagged():
    base = "Ketamine infusions helped many of the patients in the clinic to feel better within hours of treatment."
    text = f"{base}\nSomething else entirely, about the weather in the spring and the summer months.\n{base} And more."
    flags = flag_repeats(text)
    assert [(f["line"], f["repeats_line"]) for f in flags] == [(3, 1)]
