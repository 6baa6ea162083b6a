"""Checks of single fields of a Label Studio task or annotation, each returning the value or a
`Problem` text with its fix: types are checked where they are read, never trusted."""

from __future__ import annotations

import re

from builders.build.parse import FIX_REPULL
from builders.build.snapshots import parse_time

# What `khc ls pull` writes for a person (ann-001, ...); test fixtures use ann-a, ann-b.
PSEUDONYM = re.compile(r"^ann-[0-9a-z]{1,12}$")
FIX_PSEUDONYMS = "delete this file and export with `khc ls pull` (or bring a download in with `khc ls import`)"


class FieldError(ValueError):
    """A field of the wrong type or shape: `args[0]` says what, `fix` what to do."""

    def __init__(self, what: str, fix: str = FIX_REPULL):
        super().__init__(what)
        self.fix = fix


def integer_id(value: object, name: str) -> int:
    """A Label Studio id: an integer (some exports write it as a string of digits)."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise FieldError(f"{name} {value!r} is not an integer id")
    return value


def flag(value: object, name: str) -> bool:
    """A boolean field (`ground_truth`, `was_cancelled`): absent is False, anything but a JSON
    boolean is refused (the string "false" would otherwise read as true)."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FieldError(f"{name} is {value!r}, not true or false")
    return value


def timestamp(value: object, name: str) -> str | None:
    """A timestamp as the dataset stores it: an ISO 8601 string kept as written, a number of
    seconds since the epoch turned into ISO 8601 UTC; absent is None."""
    if value is None:
        return None
    moment = parse_time(value)
    if moment is None:
        raise FieldError(f"{name} {value!r} is not an ISO 8601 time")
    if isinstance(value, str):
        return value
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pseudonym(completed_by: object) -> str:
    """The annotator: a pseudonym of the shape khc writes, never a name, an e-mail or a raw user."""
    if isinstance(completed_by, str) and PSEUDONYM.match(completed_by):
        return completed_by
    if isinstance(completed_by, dict):
        raise FieldError(
            "the annotation carries user details (completed_by is an object, e.g. with an email); "
            "annotator identities must be pseudonymised before anything is written under annotations/",
            "delete this file and export with `khc ls pull`, which replaces users with pseudonyms",
        )
    raise FieldError(
        f"completed_by {completed_by!r} is not a pseudonym khc wrote (ann-001, ...); a name, an e-mail or a "
        "Label Studio user id is never published",
        FIX_PSEUDONYMS,
    )
