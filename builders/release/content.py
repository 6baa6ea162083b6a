"""Content hashes of a built folder, and their comparison with a release record.

Tables are hashed by their rows and Hugging Face features, not their Parquet bytes, which
carry the writer's version: a release rebuilt years later with newer tools still compares.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq

from builders.corpus.records import sha256_file

# Files whose bytes depend on tool versions rather than content: the manifest lists tool
# versions (Croissant's Parquet byte hashes are dropped in content_hash).
NOT_CONTENT = {"manifest.json"}


def content_hash(path: Path) -> str:
    """sha256 of a file's content: a Parquet table by its rows and HF features, else its bytes."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        digest = hashlib.sha256()
        digest.update((table.schema.metadata or {}).get(b"huggingface", b""))
        digest.update(json.dumps(table.to_pylist(), sort_keys=True, ensure_ascii=False, default=str).encode())
        return "table:" + digest.hexdigest()
    if path.name == "croissant.json":  # drop the byte hashes of the Parquet files it lists
        document = json.loads(path.read_text(encoding="utf-8"))
        for item in document.get("distribution", []):
            item.pop("sha256", None)
        return "json:" + hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    return "bytes:" + sha256_file(path)


def content_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): content_hash(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in NOT_CONTENT
    }


def compare(expected: dict[str, str], found: dict[str, str]) -> list[str]:
    """The differences between a record's hashes and a folder's (empty: the same content)."""
    problems = [f"{p}: missing" for p in sorted(set(expected) - set(found))]
    problems += [f"{p}: not in the release" for p in sorted(set(found) - set(expected))]
    problems += [f"{p}: content differs" for p in sorted(set(expected) & set(found)) if expected[p] != found[p]]
    return problems
