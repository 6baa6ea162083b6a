"""The corpus: the five seeds as records, cleaning by named rules, ingest and its refusals."""

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


def test_ingest_refuses_a_duplicate_and_writes_nothing(project_dir, capsys):
    before = (project_dir / "corpus" / "articles.jsonl").read_bytes()
    code, _, err = khc(
        "ingest", str(project_dir / "corpus" / "sources" / "000_545253fe34f0bcfa.txt"), root=project_dir, capsys=capsys
    )
    assert code == 1 and "already in the corpus as khc-000001" in err
    assert (project_dir / "corpus" / "articles.jsonl").read_bytes() == before


def test_ingest_html_through_trafilatura(project_dir, tmp_path, capsys):
    page = tmp_path / "clinic.html"
    body = " ".join(["Ketamine infusions are given over forty minutes in a clinic under supervision."] * 3)
    page.write_text(
        "<html><head><title>Ketamine clinic</title></head><body><nav>Home | About | Contact</nav>"
        f"<article><h1>Ketamine for depression</h1><p>{body}</p>"
        "<p>Talk to your doctor about whether it is right for you, as side effects include nausea.</p></article>"
        "<footer>Copyright 2026</footer></body></html>",
        encoding="utf-8",
    )
    code, _out, err = khc(
        "ingest",
        str(page),
        "--url",
        "https://example.org/k",
        "--title",
        "Ketamine for depression",
        root=project_dir,
        capsys=capsys,
    )
    assert code == 0, err
    record = read_records(load_project(project_dir))[-1]
    assert record["article_id"] == "khc-000006" and record["url"] == "https://example.org/k"
    assert (
        "Talk to your doctor" in record["text"]
        and "Copyright" not in record["text"]
        and "Home | About" not in record["text"]
    )
    assert record["conditions"] == ["depression"] and record["conditions_rule"] == "conditions_keywords_v1"
    assert record["publisher"] is None and record["published"] is None


def test_ingest_errors_name_the_file(project_dir, tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    code, _, err = khc("ingest", str(missing), root=project_dir, capsys=capsys)
    assert code == 1 and "nope.txt: no such file" in err
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    code, _, err = khc("ingest", str(latin), root=project_dir, capsys=capsys)
    assert code == 1 and "not UTF-8" in err and "convert the file to UTF-8" in err


def test_cleaning_normalises_line_ends_and_unicode(project_dir, tmp_path, capsys):
    article = tmp_path / "windows.txt"
    article.write_bytes("Cafe\u0301 owners report ketamine helps.\r\nIt is not FDA approved.\r\n".encode())
    assert khc("ingest", str(article), root=project_dir, capsys=capsys)[0] == 0
    record = read_records(load_project(project_dir))[-1]
    assert record["text"] == "Café owners report ketamine helps.\nIt is not FDA approved."
    assert {c["rule"] for c in record["cleaning"]} == {"line_endings_v1", "unicode_nfc_v1"}


def test_root_is_found_from_a_subfolder_like_git(project_dir: Path, monkeypatch, capsys):
    monkeypatch.chdir(project_dir / "corpus")
    code, _, _ = khc("schema", capsys=capsys)
    assert code == 0
    monkeypatch.chdir(project_dir.parent)
    code, _, err = khc("schema", capsys=capsys)
    assert code == 1 and "no khc.toml here or in any folder above" in err
