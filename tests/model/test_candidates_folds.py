"""Claim candidates from BlingFire."""

from __future__ import annotations

import itertools
import json

from builders.build.spans import MATCH_IOU, iou
from builders.model.candidates import candidates, sentences
from builders.project import load_project
from tests.conftest import REPO

ARTICLES = [json.loads(line) for line in (REPO / "corpus" / "articles.jsonl").read_text(encoding="utf-8").splitlines()]


def test_candidates_are_trimmed_ranges_of_the_text():
    for article in ARTICLES:
        text = article["text"]
        found = candidates(text)
        assert found
        for c in found:
            piece = text[c.start : c.end]
            assert piece == piece.strip() and piece[-1] not in ".!?" and "\n" not in piece
            assert not piece.startswith("- ")
            assert 0 < c.coverage <= 1 and 0 <= c.position <= 1


def test_sentences_do_not_overlap_and_clauses_stay_inside_their_sentence():
    text = ARTICLES[0]["text"]
    spans = sentences(text)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    for c in candidates(text):
        start, end = spans[c.sentence]
        assert start <= c.start < c.end <= end


def test_most_pilot_claims_have_a_matching_candidate():
    tasks = json.loads(
        (REPO / "annotations" / "predictions" / f"{load_project(REPO).labelstudio.model_version}.json").read_text(
            "utf-8"
        )
    )
    total = matched = 0
    for task in tasks:
        found = candidates(task["data"]["text"])
        for item in task["predictions"][0]["result"]:
            if item["from_name"] != "claim_type":
                continue
            total += 1
            v = item["value"]
            matched += any(iou(c.start, c.end, v["start"], v["end"]) >= MATCH_IOU for c in found)
    assert total and matched / total >= 0.9, (matched, total)


def test_a_text_without_sentences_has_no_candidates():
    assert candidates("") == [] and candidates("  \n ") == []


NON_ASCII = "Ketamine “works”, Dr. Müller said — in 2019.\nÜber-long heading\n- A bullet: café é ü … Done? Yes!"


def _pysbd_sentences(text: str) -> list[tuple[int, int]]:
    """The sentences pysbd 0.3.4 gave before BlingFire replaced it, trimmed the same way."""
    import pysbd

    from builders.model.candidates import _lines, _trim

    spans, cursor = [], 0
    for piece in pysbd.Segmenter(language="en", clean=False, char_span=False).segment(text) if text else []:
        stripped = piece.strip()
        start = text.find(stripped, cursor)
        if not stripped or start < 0:
            continue
        cursor = start + len(stripped)
        spans += [t for ls, le in _lines(text, start, cursor) if (t := _trim(text, ls, le))]
    return spans


def test_blingfire_gives_the_sentences_pysbd_gave_on_the_committed_articles():
    for article in ARTICLES:
        assert sentences(article["text"]) == _pysbd_sentences(article["text"])


def test_segments_are_blingfires_own_character_offsets():
    import blingfire

    from builders.model.candidates import segments

    for text in [*(article["text"] for article in ARTICLES), NON_ASCII, "é" * 3, ""]:
        _, offsets = blingfire.text_to_sentences_and_offsets(text) if text else ("", [])
        assert segments(text) == [tuple(o) for o in offsets]
