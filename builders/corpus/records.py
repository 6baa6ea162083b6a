"""The corpus layer: one immutable record per article in `corpus/articles.jsonl`.

Labels live elsewhere and join on `article_id`, which is never renumbered or reused:
a new article gets one more than the highest id ever issued, and records are never
deleted. Adding an article is `ingest.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from builders.errors import KhcError, Problem, fail
from builders.project import Project

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
# Only on records ingested with --allow-near-duplicate (older records stay as they are):
# the twin's id, the exact Jaccard similarity found, and the reason given.
OPTIONAL_FIELDS = ("near_duplicate_of", "near_duplicate_similarity", "near_duplicate_reason")
TEXT_CHUNK = 2_000  # articles whose texts move into Arrow at a time


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_records(project: Project) -> list[dict]:
    return list(_records(project))


def _records(project: Project) -> Iterator[dict]:
    return iter_records(project.corpus_file, project.rel(project.corpus_file))


def iter_records(path: Path, shown: str) -> Iterator[dict]:
    """The records of an articles.jsonl one at a time (none if it is missing); `shown` names it in errors."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                fail(f"not valid JSON: {exc}", file=shown, record=f"line {number}", fix="restore the file from git")


def load_corpus(project: Project) -> pd.DataFrame:
    """All articles, checked: ids well-formed and unique, text normalised, hashes right. Read one
    record at a time into columns; the texts move into Arrow every TEXT_CHUNK articles, so memory
    never holds every text twice (as Python strings and as the frame's Arrow column)."""
    shown = project.rel(project.corpus_file)
    problems: list[Problem] = []
    seen: set[str] = set()
    columns: dict[str, list] = {f: [] for f in FIELDS if f != "text"}
    texts: list[str] = []
    chunks: list[pa.Array] = []
    for number, record in enumerate(_records(project), start=1):
        problems += _problems(record, shown, f"line {number} ({record.get('article_id', 'no article_id')})", seen)
        if problems:
            continue  # only the messages are needed from here on
        for name, values in columns.items():
            values.append(record[name])
        texts.append(record["text"])
        if len(texts) >= TEXT_CHUNK:
            chunks.append(pa.array(texts, type=pa.large_string()))
            texts = []
    if problems:
        raise KhcError(problems)
    if not chunks and not texts:  # no article: the empty frame of object columns it always was
        return pd.DataFrame(columns=list(FIELDS))
    if texts:
        chunks.append(pa.array(texts, type=pa.large_string()))
    del texts
    frame = pd.DataFrame(columns)
    text = pd.array(pa.chunked_array(chunks), dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    frame.insert(FIELDS.index("text"), "text", text)
    if frame["article_id"].is_monotonic_increasing:  # as write_records keeps it: no sorted copy
        return frame
    return frame.sort_values("article_id", ignore_index=True)


def _problems(record: dict, shown: str, where: str, seen: set[str]) -> list[Problem]:
    missing = [f for f in FIELDS if f not in record]
    if missing:
        return [Problem(f"missing fields {missing}", shown, where, "re-ingest the article with khc ingest")]
    problems = []
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
    return problems


def write_records(project: Project, records: list[dict]) -> None:
    """Rewrite articles.jsonl atomically, sorted by id, one record per line."""
    path = project.corpus_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as handle:
        for record in sorted(records, key=lambda r: r["article_id"]):
            fields = [*FIELDS, *(f for f in OPTIONAL_FIELDS if f in record)]
            handle.write(json.dumps({f: record[f] for f in fields}, ensure_ascii=False) + "\n")
    tmp.replace(path)


def next_article_id(ids: Iterable[str]) -> str:
    """One more than the highest well-formed id in `ids` (every id ever recorded, so none is reused)."""
    numbers = [int(i[len(ID_PREFIX) :]) for i in ids if isinstance(i, str) and ID_PATTERN.match(i)]
    return f"{ID_PREFIX}{max(numbers, default=0) + 1:06d}"
