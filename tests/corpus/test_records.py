"""The corpus: the five seeds as records, with honest metadata and cleaning by named rules."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from builders.corpus.ingest import recheck_cleaning
from builders.corpus.records import FIELDS, load_corpus, read_records, sha256_text
from builders.project import load_project
from tests.conftest import REPO, khc


def test_committed_corpus_holds_the_five_seeds_with_honest_metadata():
    project = load_project(REPO)
    corpus = load_corpus(project)
    assert corpus["article_id"].tolist() == [f"khc-{i:06d}" for i in range(1, 6)]
    assert sorted(corpus["source_file"]) == sorted(p.name for p in (REPO / "corpus" / "sources").iterdir())
    for record in read_records(project):
        assert list(record) == list(FIELDS)
        assert record["text_sha256"] == sha256_text(record["text"])
        assert unicodedata.is_normalized("NFC", record["text"]) and "\r" not in record["text"]
        # Unknown provenance stays empty: nothing in the seeds says where they came from.
        assert record["url"] is None and record["publisher"] is None
        assert record["published"] is None and record["retrieved"] is None
        assert record["license_note"]
        assert recheck_cleaning(project, record) is None, record["article_id"]


def test_site_chrome_and_repeated_titles_are_removed_and_recorded():
    records = {r["article_id"]: r for r in read_records(load_project(REPO))}
    anxiety = records["khc-000005"]
    rules = [(c["rule"], c["text"]) for c in anxiety["cleaning"]]
    assert ("site_chrome_v1", "Diseases & ConditionsLifestyleTrending") in rules
    assert ("site_chrome_v1", "Back to top button") in rules
    assert ("site_chrome_v1", "Related Articles") in rules
    assert [r for r, _ in rules].count("repeated_title_v1") == 2
    text = anxiety["text"]
    assert "Back to top" not in text and "LifestyleTrending" not in text
    assert text.count("Ketamine Therapy: A Breakthrough Treatment for Anxiety") == 1
    # Repeated paragraphs are what was published: kept, and flagged.
    assert len(anxiety["flags"]) >= 4 and text.count("In addition to its rapid effects") == 2
    assert all(not records[a]["cleaning"] for a in ("khc-000001", "khc-000002", "khc-000003", "khc-000004"))


def test_seed_texts_are_the_sources_exactly_where_no_rule_applied():
    records = {r["source_file"]: r for r in read_records(load_project(REPO))}
    for name in ("000_545253fe34f0bcfa.txt", "003_5440763dba551473.txt"):
        assert records[name]["text"] == (REPO / "corpus" / "sources" / name).read_text(encoding="utf-8")


def test_root_is_found_from_a_subfolder_like_git(project_dir: Path, monkeypatch, capsys):
    monkeypatch.chdir(project_dir / "corpus")
    code, _, _ = khc("schema", capsys=capsys)
    assert code == 0
    monkeypatch.chdir(project_dir.parent)
    code, _, err = khc("schema", capsys=capsys)
    assert code == 1 and "no khc.toml here or in any folder above" in err


def test_an_empty_corpus_loads_as_an_empty_frame_of_its_fields(project_dir: Path):
    """No article yet (a new project): every field a column, each of dtype object, as before the
    corpus was read in batches (khc agreement and ls pull read such a frame)."""
    project = load_project(project_dir)
    project.corpus_file.write_text("", encoding="utf-8")
    frame = load_corpus(project)
    assert frame.empty and list(frame.columns) == list(FIELDS)
    assert {str(t) for t in frame.dtypes} == {"object"}
