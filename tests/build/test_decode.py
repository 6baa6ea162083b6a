"""Cutting an export into its tasks (builders/build/decode.py) against ijson reading it whole, on
random JSON lists cut into chunks at random places (strings with brackets, quotes and escapes
run across chunk ends), with the task ends found by the cut itself or by the guard's scan."""

from __future__ import annotations

import io
import itertools
import json

import ijson
from hypothesis import given, settings
from hypothesis import strategies as st

from builders.build import decode, guard

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(1 - 2**63, 2**63 - 1),  # ijson refuses -2**63
    st.text(alphabet=st.sampled_from('ab[]{}",\\\n é😀'), max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)


def cut(document: bytes, places: list[int]) -> list[bytes]:
    bounds = sorted({0, len(document), *(p % (len(document) + 1) for p in places)})
    return [document[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=200, deadline=None)
@given(st.lists(VALUES, max_size=6), st.lists(st.integers(0, 10**6), max_size=8), st.sampled_from([None, 1, 2]))
def test_the_elements_are_ijsons_items(values, places, indent):
    document = json.dumps(values, indent=indent, ensure_ascii=False).encode()
    expected = list(ijson.items(io.BytesIO(document), "item", use_float=True))
    ends = guard.scan(cut(document, places)).ends
    for given_ends in (None, ends):
        assert [e.value() for e in decode.elements(cut(document, places), given_ends)] == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=4), st.integers(0, 10**6), st.sampled_from([b",", b"]", b"x", b"[", b"}"]))
def test_a_damaged_list_yields_a_prefix_of_ijsons_items_then_says_so(values, where, junk):
    """Wherever a byte is inserted, what is yielded before Irregular is what ijson reads first."""
    document = json.dumps(values, ensure_ascii=False).encode()
    at = where % (len(document) + 1)
    damaged = document[:at] + junk + document[at:]
    try:
        expected = list(ijson.items(io.BytesIO(damaged), "item", use_float=True))
        complete = True
    except ijson.JSONError:
        complete = False
    found = []
    try:
        for element in decode.elements([damaged], guard.scan([damaged]).ends):
            found.append(element.value())
    except decode.Irregular:
        assert not complete or found == expected[: len(found)]
        return
    assert complete and found == expected
