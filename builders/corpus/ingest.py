"""`khc ingest`: a local .txt or .html file → a cleaned, checked article record.

The raw source file is kept under `corpus/sources/` so the cleaning can be re-run and checked
(`recheck_cleaning`). Refused, with nothing written: a file that is not UTF-8 text, a page that
is not an article (`checks.not_an_article`), a malformed date or condition name, a text already
in the corpus, and a near-duplicate of an article in it (`neardup`) unless the user gives a
reason with `allow_near_duplicate`; such an article joins its twin's split.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from builders.corpus import neardup
from builders.corpus.checks import condition_names, iso_date, not_an_article
from builders.corpus.cleaning import clean_text, detect_conditions
from builders.corpus.folds import read_fold_file
from builders.corpus.records import (
    DEFAULT_LICENSE_NOTE,
    next_article_id,
    read_records,
    sha256_file,
    sha256_text,
    write_records,
)
from builders.corpus.splits import append_assignments, assign_new_articles, recorded_ids
from builders.errors import fail
from builders.lock import locked
from builders.project import Project


def read_source(path: Path) -> str:
    """The article text of a local .txt or .html file (HTML through trafilatura)."""
    if not path.is_file():
        fail("no such file", file=str(path), fix="give the path of a .txt or .html file")
    raw = path.read_bytes()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(f"not UTF-8 text ({exc})", file=str(path), fix="convert the file to UTF-8 first")
    if path.suffix.lower() in {".html", ".htm"}:
        import trafilatura

        extracted = trafilatura.extract(decoded, include_comments=False, include_tables=False, favor_precision=True)
        if not extracted:
            fail("no article text found in this HTML", file=str(path), fix="save the article as .txt and ingest that")
        return extracted
    if path.suffix.lower() != ".txt":
        fail(f"unsupported file type {path.suffix!r}", file=str(path), fix="ingest a .txt or .html file")
    return decoded


def check_metadata(published: str | None, retrieved: str | None, conditions: list[str] | None) -> list[str] | None:
    """Dates as YYYY-MM-DD calendar dates, condition names from the declared list (else KhcError)."""
    try:
        iso_date(published, "--published")
        iso_date(retrieved, "--retrieved")
        names = condition_names(conditions) if conditions is not None else None
    except ValueError as exc:
        fail(str(exc), fix="dates are YYYY-MM-DD (e.g. 2026-03-01); leave a date out when it is not known")
    if published and retrieved and published > retrieved:
        fail(f"--published {published} is after --retrieved {retrieved}", fix="check both dates")
    return names


@locked("khc ingest")
def ingest(
    project: Project,
    source: Path,
    *,
    title: str | None = None,
    url: str | None = None,
    publisher: str | None = None,
    published: str | None = None,
    retrieved: str | None = None,
    conditions: list[str] | None = None,
    license_note: str | None = None,
    allow_near_duplicate: str | None = None,
) -> dict:
    """Add one article; refuse what is not an article, a text already in the corpus, and a near-duplicate."""
    conditions = check_metadata(published, retrieved, conditions)
    records = read_records(project)
    raw = read_source(source)
    text, removals, flags = clean_text(raw, title)
    if not text.strip():
        fail("the article is empty after cleaning", file=str(source), fix="check that this is the right file")
    reason = not_an_article(text)
    if reason:
        fail(
            f"not an article: {reason}",
            file=str(source),
            fix="ingest the article itself (save its full text as .txt if the page hides it behind a banner or wall)",
        )
    digest = sha256_text(text)
    for record in records:
        if record["text_sha256"] == digest:
            fail(
                f"this text is already in the corpus as {record['article_id']} (from {record['source_file']})",
                file=str(source),
                fix="nothing to do; an article is ingested once",
            )
    twin = _near_duplicate(project, source, text, digest, records, allow_near_duplicate)
    source_name = source.name
    if (project.sources_dir / source_name).exists():
        fail(
            f"a different source file named {source_name} is already in corpus/sources/",
            file=str(source),
            fix="rename the file before ingesting it",
        )
    record = {
        "article_id": next_article_id([*(r["article_id"] for r in records), *recorded_ids(project)]),
        "title": title,
        "text": text,
        "text_sha256": digest,
        "source_file": source_name,
        "source_sha256": sha256_file(source),
        "url": url,
        "publisher": publisher,
        "published": published,
        "retrieved": retrieved,
        "conditions": conditions if conditions is not None else detect_conditions(text),
        "conditions_rule": "given" if conditions is not None else "conditions_keywords_v1",
        "license_note": license_note or DEFAULT_LICENSE_NOTE,
        "cleaning": removals,
        "flags": flags,
    }
    if twin:
        record |= {
            "near_duplicate_of": twin.article_id,
            "near_duplicate_similarity": twin.similarity,
            "near_duplicate_reason": allow_near_duplicate,
        }
    project.sources_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, project.sources_dir / source_name)
    write_records(project, [*records, record])
    if twin:  # a twin shares its article's split, so no text leaks from one split into another
        twin_split = assign_new_articles(project, [twin.article_id], write=True)[twin.article_id]
        append_assignments(project.split_file, {record["article_id"]: twin_split})
    else:
        assign_new_articles(project, [record["article_id"]], write=True)
    return record


def _near_duplicate(
    project: Project, source: Path, text: str, digest: str, records: list[dict], allowed: str | None
) -> neardup.Twin | None:
    """The most similar twin if `allowed` gives a reason; refuse a twin otherwise."""
    twins = neardup.find_twins(text, digest, records, project.root / neardup.CACHE_FILE)
    if allowed is not None and not allowed.strip():
        fail("--allow-near-duplicate needs a reason", file=str(source), fix='e.g. --allow-near-duplicate "REASON"')
    if not twins:
        if allowed is not None:
            fail(
                "--allow-near-duplicate was given, but the text is no near-duplicate of any article",
                file=str(source),
                fix="leave the option out",
            )
        return None
    if allowed is None:
        shown = "; ".join(f"{t.article_id} (Jaccard similarity {t.similarity:.3f})" for t in twins[:5])
        fail(
            f"a near-duplicate of {shown}, at or above the threshold {neardup.JACCARD_THRESHOLD} "
            "(word 5-grams of the normalised texts)",
            file=str(source),
            fix="nothing to do if it is the same article; if it is a different one, ingest it with "
            f'--allow-near-duplicate "REASON": it then joins {twins[0].article_id}\'s split',
        )
    refuse_a_group_apart(project, source, twins, records)
    return twins[0]


def refuse_a_group_apart(project: Project, source: Path, twins: list[neardup.Twin], records: list[dict]) -> None:
    """A twin joins one split and one fold: refuse one whose group (`neardup.twin_group`) already
    spans two splits, or two recorded folds, as it cannot join either without a leak."""
    group = neardup.twin_group(twins, records)
    similar = {t.article_id: f", Jaccard similarity {t.similarity:.3f}" for t in twins}
    splits = assign_new_articles(project, group, write=False)
    folds = read_fold_file(project.fold_file, project.rel(project.fold_file))
    if len({splits[a] for a in group}) > 1:
        fail(
            "a near-duplicate of articles in different splits: "
            + ", ".join(f"{a} ({splits[a]}{similar.get(a, ', a recorded twin of these')})" for a in group),
            file=str(source),
            fix="it cannot join one split without leaking into another; leave it out of the corpus",
        )
    placed = {a: folds[a] for a in group if a in folds}
    if len(set(placed.values())) > 1:
        fail(
            "a near-duplicate of articles in different folds (corpus/folds.csv): "
            + ", ".join(f"{a} (fold {placed[a]}{similar.get(a, ', a recorded twin of these')})" for a in placed),
            file=str(source),
            fix="twins share a fold and a recorded fold never moves, so it cannot join one fold without leaking "
            f"into another; leave it out of the corpus (or, if {' and '.join(placed)} are one article, give them "
            f"one fold in {project.rel(project.fold_file)} and say so in CHANGELOG.md)",
        )


def recheck_cleaning(project: Project, record: dict) -> str | None:
    """Re-run the cleaning on the kept source; return a problem description or None."""
    source = project.sources_dir / record["source_file"]
    if not source.exists():
        return f"source file corpus/sources/{record['source_file']} is missing"
    if sha256_file(source) != record["source_sha256"]:
        return "the kept source file changed since ingest"
    text, removals, _flags = clean_text(read_source(source), record["title"])
    if text != record["text"] or removals != record["cleaning"]:
        return "re-cleaning the source gives a different text: a cleaning rule changed without a new name"
    return None
