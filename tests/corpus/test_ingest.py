"""`khc ingest`: what becomes an article, and everything it refuses with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders.corpus.records import read_records
from builders.corpus.splits import read_split_file
from builders.project import load_project
from tests.conftest import khc, tree_digest

# Enough prose for an article (checks.MIN_PROSE_WORDS), in one paragraph.
PROSE = (
    "Ketamine infusions are given over forty minutes in a clinic, under the supervision of a doctor who "
    "watches the blood pressure and the breathing of the patient. Most people feel detached for an hour; "
    "some feel sick. The effect on mood can last a week, and the treatment is repeated."
)


def corpus_state(root: Path) -> dict[str, str]:
    return tree_digest(root / "corpus")


def ingest_fails(root: Path, capsys, *args: str) -> str:
    before = corpus_state(root)
    code, _, err = khc("ingest", *args, root=root, capsys=capsys)
    assert code == 1, err
    assert corpus_state(root) == before  # nothing written: records, split file, sources
    return err


def test_ingest_refuses_a_duplicate_and_writes_nothing(project_dir, capsys):
    err = ingest_fails(project_dir, capsys, str(project_dir / "corpus" / "sources" / "000_545253fe34f0bcfa.txt"))
    assert "already in the corpus as khc-000001" in err


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
    assert "near_duplicate_of" not in record  # the optional fields only where a twin was allowed


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
    article.write_bytes(f"Cafe\u0301 owners report ketamine helps.\r\n{PROSE}\r\n".encode())
    assert khc("ingest", str(article), root=project_dir, capsys=capsys)[0] == 0
    record = read_records(load_project(project_dir))[-1]
    assert record["text"] == f"Café owners report ketamine helps.\n{PROSE}"
    assert {c["rule"] for c in record["cleaning"]} == {"line_endings_v1", "unicode_nfc_v1"}


# -- pages that are not articles (issue 13 obs. 9) ---------------------------------------------------

COOKIE_BANNER = (
    "We and our 842 partners use cookies and similar technologies to store and access information on your "
    "device, for personalised advertising and content, advertising and content measurement, audience research "
    "and services development. With your permission we and our partners may use precise geolocation data and "
    "identification through device scanning. You may click to consent to our and our 842 partners' processing "
    "as described above. Alternatively you may access more detailed information and change your preferences "
    "before consenting or to refuse consenting. Manage your cookie settings at any time. Accept all cookies."
)
LOGIN = (
    "Sign in to continue. Email address. Password. Remember me and keep me logged in on this device when I sign "
    "in. Forgot your password? New here? Create a free account to continue reading our health coverage."
)
PAYWALL = (
    "Ketamine clinics are opening across the country, promising rapid relief for depression and anxiety to "
    "patients who have tried everything else.\n"
    "Subscribe to continue reading. Already a subscriber? Log in. This article is available to subscribers only."
)


def html_page(body: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in body.split("\n"))
    return f"<html><head><title>Page</title></head><body><main>{paragraphs}</main></body></html>"


@pytest.mark.parametrize(
    ("body", "named"), [(COOKIE_BANNER, "cookie consent"), (LOGIN, "login wall"), (PAYWALL, "paywall")]
)
def test_consent_login_and_paywall_pages_are_refused(project_dir, tmp_path, capsys, body, named):
    page = tmp_path / "page.html"
    page.write_text(html_page(body), encoding="utf-8")
    err = ingest_fails(project_dir, capsys, str(page))
    assert "page.html: not an article" in err and named in err


def test_a_text_with_too_little_prose_is_refused(project_dir, tmp_path, capsys):
    stub = tmp_path / "stub.txt"
    stub.write_text("Ketamine\n\nHome | News | Contact\n\nRead more about ketamine clinics.\n", encoding="utf-8")
    err = ingest_fails(project_dir, capsys, str(stub))
    assert "words of prose" in err and "at least 40" in err


def test_a_text_of_only_zero_width_characters_is_refused(project_dir, tmp_path, capsys):
    invisible = tmp_path / "invisible.txt"
    invisible.write_text("\u200b\u200c\u200d\u2060\n\u200b \u200b\n", encoding="utf-8")
    err = ingest_fails(project_dir, capsys, str(invisible))
    assert "no visible characters" in err


def test_control_and_bidi_characters_are_stripped_and_logged(project_dir, tmp_path, capsys):
    article = tmp_path / "controls.txt"
    article.write_text(f"Ketamine\x00 clinics\x1b open.\n{PROSE} \u202eevil\u202c\n", encoding="utf-8")
    code, out, err = khc("ingest", str(article), root=project_dir, capsys=capsys)
    assert code == 0, err
    record = read_records(load_project(project_dir))[-1]
    assert "\x00" not in record["text"] and "\x1b" not in record["text"] and "\u202e" not in record["text"]
    assert [c["rule"] for c in record["cleaning"]] == ["control_characters_v1", "bidi_controls_v1"]
    assert "cleaned by control_characters_v1: line 1: 1 x U+0000, 1 x U+001B" in out


# -- metadata (obs. 12) -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["last tuesday", "2026-13-45", "2026-02-30", "20260301", "2026-3-1", ""])
@pytest.mark.parametrize("option", ["--published", "--retrieved"])
def test_dates_must_be_iso_calendar_dates(project_dir, tmp_path, capsys, option, value):
    article = tmp_path / "a.txt"
    article.write_text(PROSE, encoding="utf-8")
    err = ingest_fails(project_dir, capsys, str(article), option, value)
    assert option in err and "YYYY-MM-DD" in err


def test_dates_are_kept_and_must_be_in_order(project_dir, tmp_path, capsys):
    article = tmp_path / "a.txt"
    article.write_text(PROSE, encoding="utf-8")
    err = ingest_fails(project_dir, capsys, str(article), "--published", "2026-05-02", "--retrieved", "2026-05-01")
    assert "is after --retrieved" in err
    args = ("--published", "2026-02-28", "--retrieved", "2026-03-01")
    assert khc("ingest", str(article), *args, root=project_dir, capsys=capsys)[0] == 0
    record = read_records(load_project(project_dir))[-1]
    assert (record["published"], record["retrieved"]) == ("2026-02-28", "2026-03-01")


@pytest.mark.parametrize(
    ("given", "message"),
    [("", "empty"), ("depression,,anxiety", "empty"), ("depression, ", "empty"), ("cancer", "unknown condition")],
)
def test_condition_names_are_non_empty_and_declared(project_dir, tmp_path, capsys, given, message):
    article = tmp_path / "a.txt"
    article.write_text(PROSE, encoding="utf-8")
    err = ingest_fails(project_dir, capsys, str(article), "--conditions", given)
    assert message in err


def test_condition_names_take_their_declared_spelling(project_dir, tmp_path, capsys):
    article = tmp_path / "a.txt"
    article.write_text(PROSE, encoding="utf-8")
    assert khc("ingest", str(article), "--conditions", "Depression, ptsd", root=project_dir, capsys=capsys)[0] == 0
    record = read_records(load_project(project_dir))[-1]
    assert record["conditions"] == ["depression", "PTSD"] and record["conditions_rule"] == "given"


# -- ids are never reused (issue 12 §4) ------------------------------------------------------------


def test_an_id_freed_from_the_corpus_is_not_issued_again(project_dir, tmp_path, capsys):
    first = tmp_path / "first.txt"
    first.write_text(PROSE, encoding="utf-8")
    assert khc("ingest", str(first), root=project_dir, capsys=capsys)[0] == 0
    corpus = project_dir / "corpus" / "articles.jsonl"
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    assert json.loads(lines[-1])["article_id"] == "khc-000006"
    corpus.write_text("".join(lines[:-1]), encoding="utf-8")  # the last record removed by hand
    (project_dir / "corpus" / "sources" / "first.txt").unlink()
    second = tmp_path / "second.txt"
    second.write_text("Esketamine nasal spray is approved for depression. " * 3 + "\n" + PROSE[::-1], encoding="utf-8")
    assert khc("ingest", str(second), root=project_dir, capsys=capsys)[0] == 0
    assert read_records(load_project(project_dir))[-1]["article_id"] == "khc-000007"
    splits = read_split_file(project_dir / "corpus" / "splits.csv", "splits.csv")
    assert "khc-000006" in splits and "khc-000007" in splits


def test_ids_recorded_by_a_release_are_not_issued_again(project_dir, tmp_path, capsys):
    releases = project_dir / "releases"
    releases.mkdir()
    (releases / "1.0.0.json").write_text(json.dumps({"version": "1.0.0", "splits": {"khc-000012": "train"}}))
    article = tmp_path / "a.txt"
    article.write_text(PROSE, encoding="utf-8")
    assert khc("ingest", str(article), root=project_dir, capsys=capsys)[0] == 0
    assert read_records(load_project(project_dir))[-1]["article_id"] == "khc-000013"
