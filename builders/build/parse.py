"""One annotation's Label Studio `result` list → its claim spans and article-level answers.

Each item names its control in `from_name`; the schema says which family that is and of
which kind (`schema.Kind`), and one small function reads each kind:
- `span_label`    claim_type: a region of the text with one label (offsets checked, repaired);
- `region_choice` evidence: one choice attached to a claim span's region;
- `article_choice` the article-level checklist and the two single choices.
Values become ClassLabel codes here, once (`Family.codes`: the schema's order); nothing
downstream sees a label's name again until it is decoded through the Features.
Problems are collected (never raised), each naming the file, the record and the fix.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from builders.build.offsets import SpanMismatch, locate_span
from builders.schema import CLAIM_TYPE, FAMILY_BY_NAME, RESULT_ORIGIN_CODES, Family

UNKNOWN_ORIGIN = RESULT_ORIGIN_CODES["unknown"]  # a result the UI did not make (API, import)

FIX_REPULL = "export the project again with `khc ls pull` (never edit a snapshot by hand)"


class Sink(Protocol):
    """Where parsing puts what it finds besides the labels (the reader)."""

    counts: Counter
    report: dict[str, list]

    def problem(self, what: str, file: str, record: str, fix: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class Region:
    """One claim span: its place in the article and its claim_type code."""

    region_id: object
    start: int
    end: int
    claim_type: int
    origin: int  # RESULT_ORIGIN code of the claim_type result


@dataclass
class Parsed:
    """What one result list says: spans by region id, evidence codes by region id, and each
    answered article-level family's codes (in the order given, duplicates dropped)."""

    regions: dict[object, Region] = field(default_factory=dict)
    evidence: dict[object, int] = field(default_factory=dict)
    article: dict[str, list[int]] = field(default_factory=dict)
    # RESULT_ORIGIN codes: of each region's evidence choice, and of each article-level answer
    evidence_origin: dict[object, int] = field(default_factory=dict)
    article_origin: dict[str, int] = field(default_factory=dict)
    ok: bool = True


@dataclass(frozen=True)
class Where:
    """The record being read, for messages: file shown, record text, and the task's `source`."""

    shown: str
    record: str
    source: str

    def region(self, region: object) -> str:
        return f"{self.record}, region {region}"


def parse_result(result: object, text: str, where: Where, sink: Sink) -> Parsed | None:
    """The labels of one result list on `text`, or None when any item is unusable (each
    problem recorded in `sink`)."""
    if not isinstance(result, list):
        sink.problem("result is not a list", where.shown, where.record, FIX_REPULL)
        return None
    parsed = Parsed()
    for item in result:
        checked = _checked_item(item, where, sink)
        if checked is None:
            parsed.ok = False
            continue
        family, value, region, codes, origin = checked
        read = READERS[family.kind]
        if not read(parsed, family, value, region, codes, origin, text, where, sink):
            parsed.ok = False
    orphans = sorted(set(parsed.evidence) - set(parsed.regions), key=str)
    if orphans:
        sink.problem(
            f"evidence choices for regions {orphans} that have no claim span",
            where.shown,
            where.record,
            "give the region a claim_type in Label Studio, or delete its evidence choice",
        )
        parsed.ok = False
    if not parsed.ok or not _distinct_offsets(parsed, where, sink):
        return None
    return parsed


def _checked_item(item: object, where: Where, sink: Sink) -> tuple[Family, dict, object, list[int], int] | None:
    """(family, value, region id, value codes, result origin code) of one result item whose
    control and values are in the schema, or None with the problem recorded."""
    if not isinstance(item, dict):
        sink.problem("a result item is not an object", where.shown, where.record, FIX_REPULL)
        return None
    name, value, region = item.get("from_name"), item.get("value") or {}, item.get("id")
    family = FAMILY_BY_NAME.get(name) if isinstance(name, str) else None
    if family is None:
        sink.problem(
            f"label field {name!r} is not in schema v1 (fields: {', '.join(FAMILY_BY_NAME)})",
            where.shown,
            where.record,
            "this export comes from a project with another labeling config; "
            "use the config from `khc ls config` (khc ls push checks it)",
        )
        return None
    key = "labels" if family is CLAIM_TYPE else "choices"
    values = value.get(key) if isinstance(value, dict) else None
    if not isinstance(values, list) or not values:
        sink.problem(f"{name} result has no {key}", where.shown, where.record, FIX_REPULL)
        return None
    try:
        known = family.name_set.issuperset(values)
    except TypeError:  # an unhashable value: not a label
        known = False
    if not known:
        bad = [v for v in values if v not in family.names]
        sink.problem(
            f"{name} value {bad[0]!r} is not in schema v1 (allowed: {', '.join(family.names)})",
            where.shown,
            where.region(region),
            "relabel it in Label Studio with an allowed value, then pull again",
        )
        return None
    if family.kind != "multi_choice" and len(values) != 1:
        sink.problem(
            f"{name} has {len(values)} values {values}; the schema allows one",
            where.shown,
            where.region(region),
            "keep one value (for two claims in one sentence, mark two spans)",
        )
        return None
    origin = RESULT_ORIGIN_CODES.get(item.get("origin"), UNKNOWN_ORIGIN)  # Label Studio's result origin
    return family, value, region, [family.codes[v] for v in values], origin


def span_label(parsed: Parsed, family, value, region, codes, origin, text, where, sink) -> bool:
    """A claim span: offsets located on the article text (repaired and counted if they are in
    another convention), one per region."""
    offsets = _span_offsets(value, region, text, where, sink)
    if offsets is None:
        return False
    if region in parsed.regions:
        sink.problem(f"two spans share the region id {region!r}", where.shown, where.record, FIX_REPULL)
        return False
    parsed.regions[region] = Region(region, offsets[0], offsets[1], codes[0], origin)
    return True


def region_choice(parsed: Parsed, family, value, region, codes, origin, text, where, sink) -> bool:
    """The evidence choice of a claim span's region (one per region)."""
    ok = region not in parsed.evidence
    if not ok:
        sink.problem(f"region {region!r} has two evidence choices", where.shown, where.record, "keep one")
    parsed.evidence[region] = codes[0]
    parsed.evidence_origin[region] = origin
    return ok


def article_choice(parsed: Parsed, family, value, region, codes, origin, text, where, sink) -> bool:
    """An article-level answer: given once per annotation, never attached to a span."""
    ok = "start" not in value and family.name not in parsed.article
    if not ok:
        sink.problem(
            f"{family.name} must be answered once per article, not per span", where.shown, where.record, FIX_REPULL
        )
    parsed.article[family.name] = list(dict.fromkeys(codes))
    parsed.article_origin[family.name] = origin
    return ok


READERS = {
    "span_label": span_label,
    "region_choice": region_choice,
    "multi_choice": article_choice,
    "single_choice": article_choice,
}


def _span_offsets(value: dict, region: object, text: str, where: Where, sink: Sink) -> tuple[int, int] | None:
    """The span's (start, end) in the article, repaired if its offsets are in another
    convention (counted and listed), or None with the problem recorded."""
    start, end, span_text = value.get("start"), value.get("end"), value.get("text")
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
        sink.problem("the span has no integer start/end offsets", where.shown, where.region(region), FIX_REPULL)
        return None
    if not isinstance(span_text, str):
        sink.problem(
            "the span has no text, so its offsets cannot be checked", where.shown, where.region(region), FIX_REPULL
        )
        return None
    try:
        fixed_start, fixed_end, repair = locate_span(text, start, end, span_text)
    except SpanMismatch as exc:
        sink.problem(
            f"span offsets {start}-{end} do not match the article: {exc}",
            where.shown,
            where.region(region),
            "fix or redraw the span in Label Studio and pull again; the build never guesses a span's place",
        )
        return None
    if repair:
        sink.counts[f"span_repaired_{repair}"] += 1
        sink.report["repairs"].append(
            {
                "source": where.source,
                "region_id": region,
                "reason": repair,
                "from": [start, end],
                "to": [fixed_start, fixed_end],
            }
        )
    return fixed_start, fixed_end


def _distinct_offsets(parsed: Parsed, where: Where, sink: Sink) -> bool:
    """One claim type per span: two regions on the same offsets are refused."""
    seen: dict[tuple[int, int], object] = {}
    for region in parsed.regions.values():
        key = (region.start, region.end)
        if key in seen:
            sink.problem(
                f"regions {seen[key]!r} and {region.region_id!r} mark the same text {key[0]}-{key[1]}",
                where.shown,
                where.record,
                "delete one of them in Label Studio (one claim type per span)",
            )
            return False
        seen[key] = region.region_id
    return True
