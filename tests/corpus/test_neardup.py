"""Near-duplicates: refused at ingest above the threshold, allowed with a reason into the twin's
split, and a build with twins in different splits fails naming both."""

from __future__ import annotations

import re

import pytest

from builders.corpus import neardup
from builders.corpus.records import read_records
from builders.corpus.splits import read_split_file
from builders.project import load_project
from tests.conftest import REPO, khc, tree_digest

TEST_SPLIT_ARTICLE = "khc-000004"  # in the test split of the committed corpus/splits.csv


def seed_text(article_id: str) -> str:
    return next(r["text"] for r in read_records(load_project(REPO)) if r["article_id"] == article_id)


def drop_a_sentence(text: str) -> str:
    sentences = re.split(r"(?<=[.!?]) ", text)
    middle = len(sentences) // 2
    return " ".join(sentences[:middle] + sentences[middle + 1 :])


VARIANTS = {
    # the ones issue 13 lists
    "doubled spaces after full stops": lambda t: t.replace(". ", ".  "),
    "non-breaking spaces": lambda t: t.replace(" ", "\u00a0"),
    "curly apostrophes made straight": lambda t: t.replace("\u2019", "'"),
    "blank lines doubled": lambda t: t.replace("\n", "\n\n"),
    "a title line added": lambda t: "Ketamine: what you should know\n" + t,
    # and more (decisions.md: variants beyond the listed ones are refused too)
    "a sentence dropped": drop_a_sentence,
    "a footer added": lambda t: t + "\n\nCopyright 2026 Example Health Media. All rights reserved. Share this article.",
    "upper case and en dashes": lambda t: t.upper().replace("-", "\u2013"),
    "zero-width spaces and soft hyphens": lambda t: t.replace("ment", "me\u00adnt").replace(" the ", " the\u200b "),
    "the last paragraph cut": lambda t: t.rsplit("\n", 1)[0],
}


def test_every_variant_is_at_or_above_the_threshold_and_different_seeds_far_below():
    text = seed_text(TEST_SPLIT_ARTICLE)
    for name, variant in VARIANTS.items():
        assert variant(text) != text, name
        assert neardup.similarity(text, variant(text)) >= neardup.JACCARD_THRESHOLD, name
    records = read_records(load_project(REPO))
    for i, a in enumerate(records):
        for b in records[i + 1 :]:
            assert neardup.similarity(a["text"], b["text"]) < neardup.JACCARD_THRESHOLD / 5


def test_normalisation_makes_styles_one():
    assert neardup.normalise("Don\u2019t\u00a0\u00a0STOP \u2014 \u201cnow\u201d\n\n") == 'don\'t stop - "now"'
    assert neardup.shingles("Ketamine  is\u00a0safe") == neardup.shingles("ketamine is safe") == [b"ketamine is safe"]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_ingest_refuses_each_variant_naming_the_article_and_the_similarity(project_dir, tmp_path, capsys, variant):
    copy = tmp_path / "copy.txt"
    copy.write_text(VARIANTS[variant](seed_text(TEST_SPLIT_ARTICLE)), encoding="utf-8")
    before = tree_digest(project_dir / "corpus")
    code, _, err = khc("ingest", str(copy), root=project_dir, capsys=capsys)
    assert code == 1, variant
    assert f"a near-duplicate of {TEST_SPLIT_ARTICLE} (Jaccard similarity " in err
    assert "--allow-near-duplicate" in err
    assert tree_digest(project_dir / "corpus") == before


def test_an_allowed_near_duplicate_records_its_reason_and_joins_its_twins_split(project_dir, tmp_path, capsys):
    corpus = project_dir / "corpus" / "articles.jsonl"
    old = corpus.read_bytes()
    copy = tmp_path / "syndicated.txt"
    copy.write_text(VARIANTS["a footer added"](seed_text(TEST_SPLIT_ARTICLE)), encoding="utf-8")
    reason = "syndicated copy on a second site, kept for its different footer"
    code, _, err = khc("ingest", str(copy), "--allow-near-duplicate", reason, root=project_dir, capsys=capsys)
    assert code == 0, err
    record = read_records(load_project(project_dir))[-1]
    assert record["near_duplicate_of"] == TEST_SPLIT_ARTICLE and record["near_duplicate_reason"] == reason
    expected = neardup.similarity(seed_text(TEST_SPLIT_ARTICLE), record["text"])
    assert record["near_duplicate_similarity"] == round(expected, 3)
    splits = read_split_file(project_dir / "corpus" / "splits.csv", "splits.csv")
    assert splits[record["article_id"]] == splits[TEST_SPLIT_ARTICLE] == "test"
    assert corpus.read_bytes().startswith(old)  # older records are not rewritten with the new fields
    assert khc("build", root=project_dir, capsys=capsys)[0] == 0


def test_allowing_needs_a_twin_and_a_reason(project_dir, tmp_path, capsys):
    copy = tmp_path / "copy.txt"
    copy.write_text(VARIANTS["a title line added"](seed_text(TEST_SPLIT_ARTICLE)), encoding="utf-8")
    code, _, err = khc("ingest", str(copy), "--allow-near-duplicate", " ", root=project_dir, capsys=capsys)
    assert code == 1 and "needs a reason" in err
    other = tmp_path / "other.txt"
    other.write_text(" ".join(f"Sentence {n} about a ketamine clinic and its many patients." for n in range(9)))
    code, _, err = khc("ingest", str(other), "--allow-near-duplicate", "why", root=project_dir, capsys=capsys)
    assert code == 1 and "no near-duplicate" in err


def test_the_build_fails_when_twins_sit_in_different_splits_naming_both(project_dir, tmp_path, capsys):
    copy = tmp_path / "copy.txt"
    copy.write_text(VARIANTS["a sentence dropped"](seed_text(TEST_SPLIT_ARTICLE)), encoding="utf-8")
    assert khc("ingest", str(copy), "--allow-near-duplicate", "test", root=project_dir, capsys=capsys)[0] == 0
    split_file = project_dir / "corpus" / "splits.csv"
    split_file.write_text(split_file.read_text().replace("khc-000006,test", "khc-000006,train"))
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and not (project_dir / "dist").exists()
    assert f"{TEST_SPLIT_ARTICLE} (test) and khc-000006 (train) are near-duplicates" in err
    assert "put khc-000006 into test" in err


def test_cross_split_pairs_of_a_corpus_frame():
    import pandas as pd

    records = read_records(load_project(REPO))
    twin = VARIANTS["non-breaking spaces"](records[0]["text"])
    frame = pd.DataFrame(
        {
            "article_id": [r["article_id"] for r in records] + ["khc-000009"],
            "text": [r["text"] for r in records] + [twin],
            "text_sha256": [r["text_sha256"] for r in records] + ["twin"],
        }
    )
    same = {r["article_id"]: "train" for r in records} | {"khc-000009": "train"}
    assert neardup.cross_split_near_duplicates(frame, same) == []
    apart = same | {"khc-000009": "validation"}
    assert neardup.cross_split_near_duplicates(frame, apart) == [
        ("khc-000001", "train", "khc-000009", "validation", 1.0)
    ]


def test_a_damaged_signature_cache_is_rebuilt(tmp_path):
    cache = tmp_path / "cache.npz"
    cache.write_bytes(b"not a numpy file")
    texts = ["one two three four five six seven", "eight nine ten eleven twelve thirteen"]
    rows = neardup.SignatureCache.load(cache).of(["a", "b"], texts)
    assert rows.shape == (2, neardup.NUM_PERM)
    again = neardup.SignatureCache.load(cache)
    assert set(again.rows) == {"a", "b"} and (again.of(["a"], ["ignored: cached"]) == rows[:1]).all()


def test_warming_the_cache_stores_what_the_check_would_compute(tmp_path):
    """The build's helper warms the cache while the main process reads: the same signatures as
    computing them on the spot, and nothing computed twice."""
    cache = tmp_path / "cache.npz"
    texts = ["one two three four five six seven", "eight nine ten eleven twelve thirteen"]
    assert neardup.warm_cache(cache, ["a", "b"], texts) == 2
    assert neardup.warm_cache(cache, ["a", "b"], texts) == 0
    stored = neardup.SignatureCache.load(cache).of(["a", "b"], ["ignored: cached", "ignored: cached"])
    assert (stored == neardup.signatures(texts)).all()


def test_twin_group_follows_the_recorded_links_of_earlier_ingests():
    records = [
        {"article_id": "khc-000001"},
        {"article_id": "khc-000002", "near_duplicate_of": "khc-000001"},
        {"article_id": "khc-000003", "near_duplicate_of": "khc-000002"},
        {"article_id": "khc-000004"},
        {"article_id": "khc-000005", "near_duplicate_of": "khc-000004"},
    ]
    group = neardup.twin_group([neardup.Twin("khc-000003", 0.7)], records)
    assert group == ["khc-000001", "khc-000002", "khc-000003"]
    assert neardup.twin_group([neardup.Twin("khc-000004", 0.6)], records) == ["khc-000004", "khc-000005"]
