"""One result list → spans and article answers (builders/build/parse.py): every result family,
good and bad, without files."""

from __future__ import annotations

from collections import Counter

import pytest

from builders.build.parse import Where, parse_result
from builders.labelstudio.results import choice_result, span_results
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, NO_LABEL, RISK_DISCLOSURES

TEXT = "Ketamine works fast. Studies show it helps 😀 many people.\nAsk your doctor."
WHERE = Where("annotations/exports/x.json", "task 1 (article khc-000001), annotation 5", "annotations/exports/x.json#0")


class Sink:
    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.report: dict[str, list] = {"repairs": []}
        self.problems: list[tuple[str, str, str, str | None]] = []

    def problem(self, what: str, file: str, record: str, fix: str | None = None) -> None:
        self.problems.append((what, file, record, fix))


def region(rid: str, sentence: str, claim_type: str, evidence: str | None) -> list[dict]:
    start = TEXT.index(sentence)
    return span_results(rid, start, start + len(sentence), sentence, claim_type, evidence)


def parse(result: object) -> tuple[object, Sink]:
    sink = Sink()
    return parse_result(result, TEXT, WHERE, sink), sink


def test_span_label_and_region_choice_become_schema_codes():
    parsed, sink = parse(
        region("r1", "Ketamine works fast.", "efficacy", "none")
        + region("r2", "Ask your doctor.", "recommendation", None)
    )
    assert not sink.problems
    first, second = parsed.regions["r1"], parsed.regions["r2"]
    assert (first.start, first.end, first.claim_type) == (0, 20, CLAIM_TYPE.codes["efficacy"])
    assert second.claim_type == CLAIM_TYPE.codes["recommendation"]
    assert parsed.evidence == {"r1": EVIDENCE.codes["none"]}  # r2 has none: the reader stores NO_LABEL
    assert NO_LABEL not in parsed.evidence.values()


def test_article_choices_are_codes_in_the_order_given_without_duplicates():
    result = [
        choice_result("a", RISK_DISCLOSURES.name, ["misuse_potential", "side_effects", "side_effects"]),
        choice_result("b", HARMS_EXPLAINED.name, ["not_applicable"]),
        choice_result("c", EVIDENCE_EXPLAINED.name, ["satisfactory"]),
    ]
    parsed, sink = parse(result)
    assert not sink.problems
    codes = RISK_DISCLOSURES.codes
    assert parsed.article[RISK_DISCLOSURES.name] == [codes["misuse_potential"], codes["side_effects"]]
    assert parsed.article[HARMS_EXPLAINED.name] == [HARMS_EXPLAINED.codes["not_applicable"]]
    assert parsed.article[EVIDENCE_EXPLAINED.name] == [EVIDENCE_EXPLAINED.codes["satisfactory"]]


def test_utf16_offsets_after_an_emoji_are_repaired_counted_and_listed():
    sentence = "many people."
    start = TEXT.index(sentence) + 1  # Label Studio's front end counts the emoji as two UTF-16 units
    parsed, sink = parse(span_results("r1", start, start + len(sentence), sentence, "efficacy", None))
    assert not sink.problems
    assert TEXT[parsed.regions["r1"].start : parsed.regions["r1"].end] == sentence
    assert sum(sink.counts.values()) == 1 and len(sink.report["repairs"]) == 1
    assert sink.report["repairs"][0]["source"] == WHERE.source


BAD = [
    ("not a list", {"from_name": "claim_type"}, "result is not a list"),
    ("item not an object", [3], "a result item is not an object"),
    ("unknown control", [{"from_name": "sentiment", "value": {"choices": ["x"]}}], "is not in schema v1"),
    (
        "no labels",
        [{"from_name": "claim_type", "id": "r", "value": {"start": 0, "end": 5, "text": "Ketam"}}],
        "has no labels",
    ),
    ("value not an object", [{"from_name": "harms_explained", "value": ["satisfactory"]}], "has no choices"),
    ("label not in schema", region("r", "Ketamine works fast.", "hype", None)[:1], "value 'hype' is not in schema v1"),
    (
        "two claim types",
        [
            {
                **region("r", "Ketamine works fast.", "efficacy", None)[0],
                "value": {"start": 0, "end": 20, "text": "Ketamine works fast.", "labels": ["efficacy", "safety"]},
            }
        ],
        "the schema allows one",
    ),
    (
        "offsets off the text",
        span_results("r", 0, 20, "Ketamine works slow.", "efficacy", None),
        "do not match the article",
    ),
    (
        "no integer offsets",
        [
            {
                "from_name": "claim_type",
                "id": "r",
                "value": {"start": "0", "end": 20, "text": "x", "labels": ["efficacy"]},
            }
        ],
        "no integer start/end",
    ),
    (
        "no span text",
        [{"from_name": "claim_type", "id": "r", "value": {"start": 0, "end": 20, "labels": ["efficacy"]}}],
        "the span has no text",
    ),
    ("evidence without its span", [choice_result("ghost", EVIDENCE.name, ["none"])], "have no claim span"),
    (
        "two evidence choices",
        [*region("r", "Ketamine works fast.", "efficacy", "none"), choice_result("r", EVIDENCE.name, ["anecdote"])],
        "two evidence choices",
    ),
    (
        "article question per span",
        [
            {
                **choice_result("r", HARMS_EXPLAINED.name, ["satisfactory"]),
                "value": {"start": 0, "choices": ["satisfactory"]},
            }
        ],
        "once per article",
    ),
    (
        "two regions on one text",
        region("r1", "Ketamine works fast.", "efficacy", None) + region("r2", "Ketamine works fast.", "safety", None),
        "mark the same text",
    ),
    (
        "one region id twice",
        region("r", "Ketamine works fast.", "efficacy", None) + region("r", "Ask your doctor.", "recommendation", None),
        "share the region id",
    ),
]


@pytest.mark.parametrize(("case", "result", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_result_is_refused_naming_file_record_and_fix(case, result, message):
    parsed, sink = parse(result)
    assert parsed is None
    assert any(message in what for what, _file, _record, _fix in sink.problems), sink.problems
    for _what, file, record, fix in sink.problems:
        assert file == WHERE.shown and record.startswith(WHERE.record) and fix
