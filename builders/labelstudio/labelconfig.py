"""The Label Studio labeling config, generated from the schema (never edited by hand)."""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import quoteattr

from builders.schema import FAMILIES, TEXT_OBJECT, Family

# The evidence choice is asked per region (perRegion) and only while a span is selected;
# Label Studio then stores it as a `choices` result that shares the span result's `id`.
_CHOICE_MODE = {"region_choice": "single-radio", "multi_choice": "multiple", "single_choice": "single-radio"}
# Every span needs its evidence and every article both criteria: the front end refuses to
# submit without them. A checklist ticked nowhere is a valid answer (no disclosure), so it is not required.
_REQUIRED = {"region_choice", "single_choice"}

# Two columns: the article on the left; on the right, kept in view while the article scrolls,
# the claim types, the evidence of the selected span and the article questions, so that
# the evidence question shows next to the span it is about.
_ROW = "display: flex; align-items: flex-start; gap: 24px"
_ARTICLE = "flex: 3; min-width: 0"
_QUESTIONS = "flex: 2; min-width: 280px; position: sticky; top: 0"


def _options(family: Family, tag: str) -> list[str]:
    return [
        f"<{tag} value={quoteattr(v.name)} hint={quoteattr(v.meaning)}"
        + (f" background={quoteattr(v.colour)}" if v.colour else "")
        + "/>"
        for v in family.values
    ]


def _indent(lines: list[str]) -> list[str]:
    return ["  " + line for line in lines]


def _control(family: Family) -> list[str]:
    header = f"<Header value={quoteattr(family.question)}/>"
    if family.kind == "span_label":
        return [
            header,
            f'<Labels name="{family.name}" toName="{TEXT_OBJECT}" showInline="true">',
            *_indent(_options(family, "Label")),
            "</Labels>",
        ]
    region = family.kind == "region_choice"
    attrs = f'name="{family.name}" toName="{TEXT_OBJECT}" choice="{_CHOICE_MODE[family.kind]}"'
    if region:
        attrs += ' perRegion="true"'
    if family.kind in _REQUIRED:
        attrs += ' required="true"'
    lines = [header, f"<Choices {attrs}>", *_indent(_options(family, "Choice")), "</Choices>"]
    if region:
        return ['<View visibleWhen="region-selected">', *_indent(lines), "</View>"]
    return lines


def labeling_config() -> str:
    """The XML Label Studio shows annotators, one control per schema family."""
    questions: list[str] = []
    for family in (f for f in FAMILIES if f.unit == "span"):
        questions += _control(family)
    questions.append('<Header value="Whole article"/>')
    for family in (f for f in FAMILIES if f.unit == "article"):
        questions += _control(family)
    lines = [
        "<View>",
        f'  <View style="{_ROW}">',
        f'    <View style="{_ARTICLE}">',
        f'      <Text name="{TEXT_OBJECT}" value="${TEXT_OBJECT}"/>',
        "    </View>",
        f'    <View style="{_QUESTIONS}">',
        *_indent(_indent(_indent(questions))),
        "    </View>",
        "  </View>",
        "</View>",
    ]
    return "\n".join(lines) + "\n"


def labeling_config_sha256() -> str:
    return hashlib.sha256(labeling_config().encode("utf-8")).hexdigest()
