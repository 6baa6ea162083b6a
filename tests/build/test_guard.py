"""The guard's scan (builders/build/guard.py) against a byte-by-byte reading of the same rules,
on documents cut into chunks at random places (escapes and strings run across chunk ends)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders.build import guard

DEPTH = 3  # a small limit, so random documents reach it
PIECES = [b"[", b"]", b"{", b"}", b'"', b"\\", b"\\\\", b'\\"', b"a", b",", b" "]


def reference(document: bytes, max_depth: int) -> tuple[int, int | None]:
    """(deepest level, index of the task holding the first bracket nested deeper than max_depth)
    read one byte at a time: a quote after an odd run of backslashes is escaped; brackets count
    outside strings; entering level 2 starts a task (level 1 is the list of tasks)."""
    in_string, backslashes, depth, deepest, tasks = False, 0, 0, 0, 0
    for byte in document:
        if byte == ord("\\"):
            backslashes += 1
            continue
        if byte == ord('"') and backslashes % 2 == 0:
            in_string = not in_string
        elif not in_string and byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
            tasks += depth == 2
            if depth > max_depth + 1:
                return deepest, tasks - 1
        elif not in_string and byte in b"]}":
            depth -= 1
        backslashes = 0
    return deepest, None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=80), st.lists(st.integers(1, 12), min_size=1, max_size=40))
def test_the_scan_reads_strings_escapes_and_depth_as_the_bytes_say(pieces, cuts):
    document = b"[" + b"".join(pieces)
    chunks, at = [], 0
    for size in cuts * (len(document) // sum(cuts) + 1):
        if at >= len(document):
            break
        chunks.append(document[at : at + size])
        at += size
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(guard, "MAX_DEPTH", DEPTH)
        found = guard.scan(chunks)
    deepest, too_deep = reference(document, DEPTH)
    assert found.too_deep_task == too_deep
    if too_deep is None:
        assert found.max_depth == deepest


def test_a_chunk_of_backslashes_only_carries_its_run_to_the_next_quote():
    assert guard._trailing_backslashes(b"ab\\\\\\", 0) == 3
    assert guard._trailing_backslashes(b"\\\\", 1) == 3
    assert guard._trailing_backslashes(b"ab", 5) == 0
