"""`khc ingest`: a local .txt or .html file → a cleaned, checked article record.

The raw source file is kept under `corpus/sources/` so the cleaning can be re-run and checked
(`recheck_cleaning`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from builders.corpus.cleaning import clean_text, detect_conditions
from builders.corpus.records import (
    DEFAULT_LICENSE_NOTE,
    next_article_id,
    read_records,
    sha256_file,
    sha256_text,
    write_records,
)
from builders.corpus.splits import assign_new_articles
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
) -> dict:
    """Add one article; refuse a text that is already in the corpus."""
    records = read_records(project)
    raw = read_source(source)
    text, removals, flags = clean_text(raw, title)
    if not text.strip():
        fail("the article is empty after cleaning", file=str(source), fix="check that this is the right file")
    digest = sha256_text(text)
    for record in records:
        if record["text_sha256"] == digest:
            fail(
                f"this text is already in the corpus as {record['article_id']} (from {record['source_file']})",
                file=str(source),
                fix="nothing to do; an article is ingested once",
            )
    source_name = source.name
    if (project.sources_dir / source_name).exists():
        fail(
            f"a different source file named {source_name} is already in corpus/sources/",
            file=str(source),
            fix="rename the file before ingesting it",
        )
    record = {
        "article_id": next_article_id(records),
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
    project.sources_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, project.sources_dir / source_name)
    write_records(project, [*records, record])
    assign_new_articles(project, [record["article_id"]], write=True)
    return record


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
