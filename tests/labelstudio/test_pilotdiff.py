"""Label changes between predictions files: spans paired as the build pairs them, changes counted per family."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from builders.build.spans import MATCH_IOU, iou
from builders.errors import KhcError
from builders.labelstudio.pilotdiff import compare, diff_files, main, read_predictions
from builders.labelstudio.results import choice_result, span_results
from tests.conftest import REPO

TEXT = (
    "Ketamine blocks NMDA receptors in the brain. Studies suggest it eases symptoms within hours. "
    "Talk to your doctor about ketamine therapy. It is not approved for anxiety."
)


def quote(text: str) -> tuple[int, int, str]:
    start = TEXT.index(text)
    return start, start + len(text), text


def task(article_id: str, version: str, spans: list[tuple], answers: dict, *, sha: str = "sha-of-text") -> dict:
    result = []
    for number, (where, claim_type, evidence) in enumerate(spans):
        result += span_results(f"{article_id}-c{number}", *where, claim_type, evidence)
    result += [choice_result(f"{article_id}-{name}", name, values) for name, values in answers.items()]
    data = {"text": TEXT, "article_id": article_id, "text_sha256": sha}
    return {"data": data, "predictions": [{"model_version": version, "score": None, "result": result}]}


def write(path: Path, tasks: list[dict]) -> Path:
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


MECHANISM = quote("Ketamine blocks NMDA receptors in the brain")
EASES_LONG = quote("Studies suggest it eases symptoms within hours")
EASES_SHORT = quote("it eases symptoms within hours")
TALK = quote("Talk to your doctor about ketamine therapy")
TALK_TINY = quote("Talk to your doctor")
APPROVAL = quote("It is not approved for anxiety")


@pytest.fixture
def pair(tmp_path):
    old = [
        task(
            "a-1",
            "pilot-v1",
            [
                (MECHANISM, "mechanism", "none"),
                (EASES_LONG, "efficacy", "vague_appeal"),
                (TALK, "recommendation", "none"),
            ],
            {"risk_disclosures": ["medical_supervision"], "harms_explained": ["satisfactory"]},
        )
    ]
    new = [
        task(
            "a-1",
            "pilot-v2",
            [
                (MECHANISM, "mechanism", "none"),  # unchanged
                (EASES_SHORT, "comparative", "vague_appeal"),  # moved start and a new type
                (TALK_TINY, "recommendation", "not_applicable"),  # too small to pair with TALK
                (APPROVAL, "regulatory", "none"),  # new
            ],
            {"risk_disclosures": ["medical_supervision", "regulatory_status"], "harms_explained": ["not_satisfactory"]},
        ),
        task("a-2", "pilot-v2", [(APPROVAL, "regulatory", "none")], {"evidence_explained": ["satisfactory"]}),
    ]
    return write(tmp_path / "pilot-v1.json", old), write(tmp_path / "pilot-v2.json", new)


def test_spans_are_paired_by_the_builds_overlap_rule(pair):
    (_, old), (_, new) = read_predictions(pair[0]), read_predictions(pair[1])
    assert iou(*EASES_LONG[:2], *EASES_SHORT[:2]) >= MATCH_IOU > iou(*TALK[:2], *TALK_TINY[:2])
    by_id = {d.article_id: d for d in compare(old, new, shown=("old", "new"))}
    d = by_id["a-1"]
    assert [(a.text, b.text) for a, b in d.rebounded] == [(EASES_LONG[2], EASES_SHORT[2])]
    assert [(a.claim_type, b.claim_type) for a, b in d.claim_type] == [("efficacy", "comparative")]
    assert d.evidence == []  # TALK and TALK_TINY are not a pair, so their evidence is not compared
    assert sorted(s.text for s in d.added) == sorted([TALK_TINY[2], APPROVAL[2]])
    assert [s.text for s in d.removed] == [TALK[2]]
    assert d.answers == {
        "risk_disclosures": (("medical_supervision",), ("medical_supervision", "regulatory_status")),
        "harms_explained": (("satisfactory",), ("not_satisfactory",)),
    }
    only_new = by_id["a-2"]  # an article the old file lacks: everything in it is added
    assert [s.text for s in only_new.added] == [APPROVAL[2]] and only_new.answers == {
        "evidence_explained": (None, ("satisfactory",))
    }


def test_the_report_counts_per_family_and_lists_by_article(pair):
    report = diff_files(*pair)
    assert report.startswith("Label changes from `pilot-v1` to `pilot-v2`: 1 → 2 articles, 3 → 5 claim spans")
    assert "| claim spans | 3 added, 1 removed, 1 paired with moved boundaries |" in report
    assert "| `claim_type` | 1 paired spans changed: efficacy → comparative 1 |" in report
    assert "| `risk_disclosures` | 1 article changed: a-1 |" in report
    assert f"boundaries starts later, without “{EASES_LONG[2][: EASES_SHORT[0] - EASES_LONG[0]]}”" in report
    assert "- `risk_disclosures`: ticked `regulatory_status`" in report
    assert "- `evidence_explained`: unanswered → `satisfactory`" in report


def test_the_changelog_lists_the_pilot_changes_this_module_computes():
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- pilotdiff (\S+) (\S+) -->\n(.*?)<!-- /pilotdiff -->", changelog, re.S)
    assert blocks, "CHANGELOG.md has no generated label-changes block"
    for old, new, text in blocks:
        predictions = REPO / "annotations" / "predictions"
        expected = diff_files(predictions / f"{old}.json", predictions / f"{new}.json")
        assert text == expected, f"regenerate with: python -m builders.labelstudio.pilotdiff {old}.json {new}.json"


def test_offsets_on_different_texts_are_refused_by_article(tmp_path):
    old = write(tmp_path / "old.json", [task("a-1", "v1", [(TALK, "recommendation", "not_applicable")], {})])
    new = write(tmp_path / "new.json", [task("a-1", "v2", [(TALK, "recommendation", "not_applicable")], {}, sha="x")])
    with pytest.raises(KhcError) as caught:
        diff_files(old, new)
    assert f"{old} and {new}: a-1: the two files label different texts" in str(caught.value)


def test_the_command_names_a_bad_file_and_fails(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    assert main([str(missing), str(missing)]) == 1
    assert f"pilotdiff: error:\n{missing}: cannot read the predictions file" in capsys.readouterr().err
    assert main([str(broken), str(broken)]) == 1
    assert f"{broken}: cannot read the predictions file" in capsys.readouterr().err


def test_module_entry_point_prints_the_report(pair):
    done = subprocess.run(
        [sys.executable, "-m", "builders.labelstudio.pilotdiff", str(pair[0]), str(pair[1])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == diff_files(*pair)
