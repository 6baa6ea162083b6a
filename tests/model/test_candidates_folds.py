"""Claim candidates from pysbd."""

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


ABBREVIATIONS = (
    "Dr. Smith and Prof. Jones (Univ. of X) said e.g. the U.S. FDA approved it at 5 p.m. on Jan. 5. "
    "No. 3 is in St. Louis, approx. 40 mi. away; cf. Fig. 2 and vol. 7, pp. 10-12. Mr. A. B. Cole "
    "signed i.e. nothing. It costs $5 vs. $7 etc. Then Sept. came. Ave. Maria Inc. was sold. no. "
    "Patients (n. 40) improved.\nKetamine et al. 2019 reported it. Gen. Motors, Corp. and Co. Ltd. "
    "wrote ca. 1990 in Ark. and Calif. The dose was 0.5 mg/kg i.v. over 40 min. and it worked."
)


def test_the_faster_abbreviation_pass_gives_pysbds_own_sentences():
    from builders.model.candidates import _segments
    from tests.conftest import REPO

    texts = [json.loads(line)["text"] for line in (REPO / "corpus" / "articles.jsonl").read_text().splitlines()]
    assert any("Dr. Smith and Prof. Jones" in s for s in _segments(ABBREVIATIONS))  # abbreviations at work
    for text in [*texts, ABBREVIATIONS, ABBREVIATIONS.lower(), ABBREVIATIONS.upper()]:
        assert _segments(text, fast=True) == _segments(text, fast=False)
