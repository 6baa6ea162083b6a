"""The cue scan: its ASCII fast path finds the matches the Unicode patterns find."""

from __future__ import annotations

import numpy as np
import pytest

from builders.model.features import _COMPILED, CUES, scan_cues
from tests.model.test_candidates_folds import ARTICLES

MIXED_CASE = (
    "Smith et al. (2019) and Jones and Lee 2021 wrote: DOI 10.1234/abc, see HTTPS://x.org or WWW.y.com; "
    "NCT01234567, ISRCTN123, ClinicalTrials.gov. 40 Percent, 5 %, 3.5 mg. STUDIES, Trials, Research, "
    "Meta-Analyses in the Journal, Published In The Lancet, JAMA, NEJM, Psychiatry. Research Suggests, "
    "Experts, Some Studies. FDA approved it Off-Label, schedule III. I, My, Me, Patients Report, Stories. "
    "You, Your, Talk To, Consult, Consider. Side Effects, RISKS, Adverse, Nausea, Dissociation, Addiction, "
    "Abuse, Dependence, Misuse. Not Recommended, Should Not, Contraindicated, History Of. Supervised, "
    "Monitored, Trained, Licensed, Clinical Setting. May, MIGHT, Preliminary, More Research, Not Yet. "
    "Long-Term, LONG TERM. Than, Unlike, Compared, Traditional. NMDA Receptors, Glutamate, Neurons, "
    "Synapses. Dose, Infusions, Intravenous, Nasal, Sessions, Minutes, Weeks. Kelvin sign free: fda approval."
)


def _unicode_scan(text: str) -> list[list[tuple[int, int]]]:
    return [[m.span() for m in pattern.finditer(text)] for pattern in _COMPILED]


def _spans(found) -> list[list[tuple[int, int]]]:
    return [[] if f is None else list(zip(f[0].tolist(), f[1].tolist(), strict=True)) for f in found]


def test_the_ascii_fast_path_finds_what_the_unicode_patterns_find():
    texts = [article["text"] for article in ARTICLES]
    assert any(t.isascii() for t in texts) and MIXED_CASE.isascii()
    for text in [*texts, MIXED_CASE, MIXED_CASE.upper(), MIXED_CASE.lower()]:
        assert _spans(scan_cues(text)) == _unicode_scan(text)
    missed = [name for name, found in zip(CUES, scan_cues(MIXED_CASE), strict=True) if found is None]
    assert not missed  # the text exercises every cue


def test_non_ascii_text_keeps_the_unicode_patterns():
    text = "Études show ketamine’s RISKS; the FDA approved it in 2019 — may help."
    assert _spans(scan_cues(text)) == _unicode_scan(text)
    assert np.array_equal(scan_cues(text)[list(CUES).index("year")][0], [text.index("2019")])


def test_a_segmenter_that_cannot_load_says_what_to_do(monkeypatch):
    """blingfire's wheel has x86-64 libraries only: elsewhere its import raises OSError, which
    khc turns into an error naming the machine and what to do, not a traceback."""
    import sys
    import types

    from builders.errors import KhcError
    from builders.model import candidates

    broken = types.ModuleType("blingfire")

    def load(name):
        raise OSError("libblingfiretokdll.so: cannot open shared object file: wrong ELF class")

    broken.__getattr__ = load
    monkeypatch.setitem(sys.modules, "blingfire", broken)
    candidates.blingfire_library.cache_clear()
    try:
        with pytest.raises(KhcError) as caught:
            candidates.segments("Ketamine helps. It is a claim.")
    finally:
        candidates.blingfire_library.cache_clear()
    text = str(caught.value)
    assert "BlingFire" in text and "x86-64" in text and "wrong ELF class" in text
