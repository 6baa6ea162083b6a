"""Typed decoding of a Label Studio export, one task at a time, in bounded memory.

The export's bytes are cut into its top-level elements with the guard's bracket scan
(builders/build/guard.py), one batch per chunk, so memory holds a chunk and its tasks, not the
export. Each element is then decoded with `msgspec` into the structs below, which describe the
usual shape of a task: a field of another type, or a value missing where the reader needs it,
makes the typed decoding fail, and that task is read from plain Python objects by the reader's
per-field checks instead (`Element.value`), so its messages are the ones they always were.
Where the file is not a clean list of elements (invalid JSON, a stray character), the rest of it
is read by `ijson` as before (builders/build/read.py), with the same errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated

import ijson
import msgspec
import numpy as np
from msgspec import UNSET, Struct, UnsetType

from builders.build import guard

# JSON integers as ijson reads them: a 64-bit integer (a larger one is left to the fallback)
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# A number ijson may refuse (an integer beyond 64 bits, a float beyond a double) sends its element
# to ijson, which decides, even where the structs skip the field (see `_long_number`).
_DIGITS = bytes.maketrans(b"123456789E", b"000000000e")
_NUMBER_STARTS = frozenset(b"[:, \t\r\n")
_WHITESPACE = b" \t\r\n"  # JSON's whitespace (bytes.strip would also take \v and \f)


class Value(Struct):
    start: Int64 | UnsetType = UNSET
    end: Int64 | UnsetType = UNSET
    text: str | UnsetType = UNSET
    labels: list[str] | UnsetType = UNSET
    choices: list[str] | UnsetType = UNSET


class Item(Struct):
    from_name: str
    value: Value
    id: str | Int64 | None = None
    origin: str | None = None


class Annotation(Struct):
    id: Int64
    completed_by: str
    result: list[Item]
    was_cancelled: bool | None = None
    ground_truth: bool | None = None
    parent_prediction: Int64 | None = None
    created_at: str | None = None
    updated_at: str | None = None


class Prediction(Struct):
    model_version: str
    result: list[Item]
    id: Int64 | None = None
    created_at: str | None = None
    updated_at: str | None = None


class Data(Struct):
    article_id: str
    text: str | None = None
    text_sha256: str | None = None
    guideline_version: str | None = None
    labeling_config_sha256: str | None = None


class Task(Struct):
    data: Data
    id: Int64 | None = None
    project: Int64 | UnsetType | None = UNSET
    annotations: list[Annotation] | None = None
    predictions: list[Prediction | Int64] | None = None  # Label Studio's own export lists ids


_TYPED = msgspec.json.Decoder(Task)
_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])


class Irregular(ValueError):
    """The bytes are not a clean JSON list at this place: read the rest another way."""


class Element:
    """One top-level element of an export: `typed` is its Task, or None when it does not have a
    task's usual shape; `value()` is the element as plain Python objects, exactly as ijson reads it."""

    __slots__ = ("_value", "raw", "typed")

    def __init__(self, raw: msgspec.Raw):
        self.raw = raw
        try:
            self.typed: Task | None = None if _long_number(raw) else _TYPED.decode(raw)
        except msgspec.ValidationError:
            self.typed = None
        except msgspec.DecodeError:
            raise Irregular from None
        self._value = _plain(raw) if self.typed is None else None

    def value(self) -> object:
        if self._value is None:
            self._value = _plain(self.raw)  # the typed decoding saw no number ijson could refuse
        return self._value


def _long_number(raw: msgspec.Raw) -> bool:
    """Whether the element may hold a number of 19 digits or more, or one with a three-digit
    exponent. With every digit written 0, such runs are found by plain byte search; an exponent
    counts only where its number starts after a bracket, colon, comma or space (inside a hex
    digest, "3e123" is no number). Digits in an article's text only send its task to the fallback."""
    marked = bytes(raw).translate(_DIGITS)
    if b"0" * 19 in marked:
        return True
    for exponent in (b"0e000", b"0e+000"):
        at = marked.find(exponent)
        while at != -1:
            start = at
            while start > 0 and marked[start - 1] in b"0.-":
                start -= 1
            if start == 0 or marked[start - 1] in _NUMBER_STARTS:
                return True
            at = marked.find(exponent, at + 1)
    return False


def _plain(raw: msgspec.Raw) -> object:
    try:
        return next(ijson.items(bytes(raw), "", use_float=True))
    except ijson.JSONError:
        raise Irregular from None


def elements(chunks: Iterable[bytes], ends: np.ndarray | None = None) -> Iterator[Element]:
    """The top-level elements of a JSON list given as byte chunks (after any byte-order mark),
    decoded a chunk's worth at a time. `ends`: the byte offset of each element's closing bracket,
    as the guard's scan found them (else they are found here). Raises Irregular where the bytes
    are not a clean list (what came before it has been yielded)."""
    pending: list[bytes] = []  # bytes after the last complete element
    first = True
    for chunk, closing in _closing_brackets(chunks, ends):
        if not len(closing):
            pending.append(chunk)
            continue
        cut = int(closing[-1]) + 1
        yield from _batch(b"".join([*pending, chunk[:cut]]), first)
        pending, first = [chunk[cut:]], False
    rest = b"".join(pending).strip(_WHITESPACE)
    if first:  # no element was an object or a list: the whole list is here
        yield from _decoded(rest)
    elif rest != b"]":
        if not rest.startswith(b","):
            raise Irregular
        found = list(_decoded(b"[" + rest[1:]))
        if not found:  # a comma before the closing bracket
            raise Irregular
        yield from found


def _closing_brackets(chunks: Iterable[bytes], ends: np.ndarray | None) -> Iterator[tuple[bytes, np.ndarray]]:
    """Each chunk with the positions in it where a top-level element closes."""
    if ends is None:
        for part in guard.brackets(chunks):
            yield part.chunk, part.positions[(part.delta == -1) & (part.levels == 1)]
        return
    offset = 0
    for chunk in chunks:
        low, high = np.searchsorted(ends, [offset, offset + len(chunk)])
        yield chunk, ends[low:high] - offset
        offset += len(chunk)


def _batch(piece: bytes, first: bool) -> Iterator[Element]:
    """The elements of `piece`: the list's opening bracket (or, later, a comma) and whole elements."""
    body = piece.lstrip(_WHITESPACE)
    if not body.startswith(b"[" if first else b","):
        raise Irregular
    return _decoded(b"[" + body[1:] + b"]")


def _decoded(listed: bytes) -> Iterator[Element]:
    """Each element of a JSON list, typed when it is taken (so one task's structs are held at a time)."""
    try:
        raws = _ELEMENTS.decode(listed)
    except msgspec.DecodeError:
        raise Irregular from None
    return (Element(raw) for raw in raws)
