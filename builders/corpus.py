"""The corpus layer: one immutable record per article in `corpus/articles.jsonl`.

Labels live elsewhere and join on `article_id`, which is never renumbered or reused:
a new article gets one more than the highest id ever issued, and records are never
deleted. The raw source file is kept under `corpus/sources/` so the cleaning can be
re-run and checked.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import unicodedata
from pathlib import Path

import pandas as pd

from builders.cleaning import clean_text, detect_conditions
from builders.errors import KhcError, Problem, fail
from builders.project import Project
from builders.splits import assign_new_articles

ID_PREFIX = "khc-"
ID_PATTERN = re.compile(r"^khc-\d{6}$")
DEFAULT_LICENSE_NOTE = (
    "Text of a public web article; the publisher and the licence are not recorded. "
    "Rights remain with the original publisher; no licence to redistribute is known."
)
FIELDS = (
    "article_id",
    "title",
    "text",
    "text_sha256",
    "source_file",
    "source_sha256",
    "url",
    "publisher",
    "published",
    "retrieved",
    "conditions",
    "conditions_rule",
    "license_note",
    "cleaning",
    "flags",
)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_records(project: Project) -> list[dict]:
    path = project.corpus_file
    if not path.exists():
        return []
    shown = project.rel(path)
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                fail(f"not valid JSON: {exc}", file=shown, record=f"line {number}", fix="restore the file from git")
    return records


def load_corpus(project: Project) -> pd.DataFrame:
    """All articles, checked: ids well-formed and unique, text normalised, hashes right."""
    records = read_records(project)
    shown = project.rel(project.corpus_file)
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, record in enumerate(records, start=1):
        where = f"line {number} ({record.get('article_id', 'no article_id')})"
        missing = [f for f in FIELDS if f not in record]
        if missing:
            problems.append(Problem(f"missing fields {missing}", shown, where, "re-ingest the article with khc ingest"))
            continue
        article_id, text = record["article_id"], record["text"]
        if not isinstance(article_id, str) or not ID_PATTERN.match(article_id):
            problems.append(Problem(f"article_id {article_id!r} is not of the form khc-NNNNNN", shown, where))
        if article_id in seen:
            problems.append(Problem(f"article_id {article_id} appears twice", shown, where, "ids are never reused"))
        seen.add(article_id)
        if "\r" in text or not unicodedata.is_normalized("NFC", text):
            problems.append(Problem("text is not NFC with \\n line ends", shown, where, "re-ingest with khc ingest"))
        if sha256_text(text) != record["text_sha256"]:
            problems.append(
                Problem(
                    "text_sha256 does not match the text: the text was edited by hand",
                    shown,
                    where,
                    "article texts are immutable; restore it from git, or ingest the new text as a new article",
                )
            )
    if problems:
        raise KhcError(problems)
    frame = pd.DataFrame.from_records(records, columns=list(FIELDS))
    return frame.sort_values("article_id", ignore_index=True)


def write_records(project: Project, records: list[dict]) -> None:
    """Rewrite articles.jsonl atomically, sorted by id, one record per line."""
    path = project.corpus_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as handle:
        for record in sorted(records, key=lambda r: r["article_id"]):
            handle.write(json.dumps({f: record[f] for f in FIELDS}, ensure_ascii=False) + "\n")
    tmp.replace(path)


def next_article_id(records: list[dict]) -> str:
    numbers = [int(r["article_id"][len(ID_PREFIX) :]) for r in records]
    return f"{ID_PREFIX}{max(numbers, default=0) + 1:06d}"


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
