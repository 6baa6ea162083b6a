"""Copies of one pre-annotation: the same prediction comes back in every export of a project it
was pushed to, and in the predictions file it was pushed from. The first copy is read; a later
copy is counted when it is the same, and refused when it labels the article differently under
the same model_version (a changed pre-annotation needs a new version)."""

from __future__ import annotations

import hashlib
from array import array
from typing import Protocol

from msgspec import UNSET


class _Sink(Protocol):
    counts: dict

    def problem(self, what: str, file: str, record: str, fix: str | None = None) -> None: ...


class PredictionCopies:
    def __init__(self, sink: _Sink):
        self.sink = sink
        self.seen: dict[str, tuple[str, bytes]] = {}  # uid → (first source, fingerprint)

    def first_copy(self, unit: dict, prediction: dict, shown: str, where: str) -> bool:
        """True for the first copy of this (model_version, article); False for a later one."""
        return self.first_copy_of(unit, _fingerprint(prediction.get("result")), shown, where)

    def first_copy_of(self, unit: dict, fingerprint: bytes, shown: str, where: str) -> bool:
        """`first_copy`, given the prediction's fingerprint."""
        uid = unit["annotation_uid"]
        if uid not in self.seen:
            self.seen[uid] = (unit["read_from"], fingerprint)
            return True
        first_source, first_fingerprint = self.seen[uid]
        if fingerprint != first_fingerprint:
            self.sink.problem(
                f"model_version {unit['model_version']!r} labels article {unit['article_id']} differently here "
                f"than in {first_source}",
                shown,
                where,
                "give a changed pre-annotation a new model_version",
            )
        else:
            self.sink.counts["duplicate_prediction_copies"] += 1
        return False


def _fingerprint(result: object) -> bytes:
    """A digest of a prediction's labels without Label Studio's bookkeeping (ids, scores), to
    compare two copies within one build. Only the digest of the first copy is kept: keeping
    every prediction's result until the end would hold the whole parsed prediction set in memory.
    Items are hashed one by one (order does not matter) with Python's hash, which is stable
    within a process, which is all a comparison within one build needs."""
    if not isinstance(result, list):
        return repr(result).encode()
    hashes = []
    for item in result:
        if isinstance(item, dict):
            value = item.get("value") or {}
            key = (item.get("from_name"), value.get("start"), value.get("end"))
            labels = (_frozen(value.get("labels")), _frozen(value.get("choices")))
            try:
                hashes.append(hash((*key, *labels)))
            except TypeError:  # a value of an unexpected type: fall back to its text
                hashes.append(hash(repr((key, labels))))
    return _digest(hashes)


def fingerprint_of(result: list) -> bytes:
    """`_fingerprint` of a typed result list (builders/build/decode.py: `Item`s), the same bytes."""
    hashes = []
    for item in result:
        value = item.value
        labels = None if value.labels is UNSET else tuple(value.labels)
        choices = None if value.choices is UNSET else tuple(value.choices)
        start = None if value.start is UNSET else value.start
        end = None if value.end is UNSET else value.end
        hashes.append(hash((item.from_name, start, end, labels, choices)))
    return _digest(hashes)


def _digest(hashes: list[int]) -> bytes:
    hashes.sort()
    return hashlib.blake2b(array("q", hashes).tobytes(), digest_size=16).digest()


def _frozen(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value
