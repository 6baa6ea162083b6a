"""The rules `khc ingest` refuses by: not an article, dates, condition names."""

from __future__ import annotations

import pytest

from builders.corpus.checks import MIN_PROSE_WORDS, condition_names, iso_date, not_an_article
from builders.corpus.cleaning import CONDITIONS_V1
from builders.corpus.records import read_records
from builders.project import load_project
from tests.conftest import REPO


def test_every_seed_article_is_an_article():
    for record in read_records(load_project(REPO)):
        assert not_an_article(record["text"]) is None, record["article_id"]


def test_a_cookie_line_under_a_real_article_does_not_refuse_it():
    article = "\n".join(record["text"] for record in read_records(load_project(REPO))[:1])
    assert not_an_article(article + "\nWe use cookies to improve your experience. Accept all cookies.") is None


def test_the_prose_minimum_is_counted_in_words_of_prose_lines():
    line = "Ketamine is given in a clinic under supervision."  # 8 words
    needed = -(-MIN_PROSE_WORDS // 8)
    assert not_an_article("\n".join([line] * needed)) is None
    assert "words of prose" in not_an_article("\n".join([line] * (needed - 1)))
    assert "words of prose" in not_an_article("\n".join(["Home", "News", "Contact us"] * 50))


@pytest.mark.parametrize("value", ["2026-01-31", "2024-02-29", None])
def test_iso_dates_pass(value):
    assert iso_date(value, "--published") == value


@pytest.mark.parametrize("value", ["last tuesday", "2026-13-45", "2025-02-29", "2026-1-5", "2026/01/05", " 2026-01-05"])
def test_other_dates_fail(value):
    with pytest.raises(ValueError, match="--published"):
        iso_date(value, "--published")


def test_condition_names_come_from_the_detected_list():
    assert condition_names(["adhd", " Chronic Pain ", "ADHD"]) == ["ADHD", "chronic pain"]
    for bad in ([""], ["  "], ["ketamine"]):
        with pytest.raises(ValueError):
            condition_names(bad)
    assert set(condition_names(list(CONDITIONS_V1))) == set(CONDITIONS_V1)
