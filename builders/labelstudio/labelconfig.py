"""The Label Studio labeling config, generated from the schema (never edited by hand)."""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import quoteattr

from builders.schema import FAMILIES, TEXT_OBJECT, Family

# The evidence choice is asked per region (perRegion) and only while a span is selected;
# Label Studio then stores it as a `choices` result that shares the span result's `id`.
_CHOICE_MODE = {"region_choice": "single-radio", "multi_choice": "multiple", "single_choice": "single-radio"}


def _options(family: Family, tag: str) -> list[str]:
    return [f"    <{tag} value={quoteattr(v.name)} hint={quoteattr(v.meaning)}/>" for v in family.values]


def _control(family: Family) -> list[str]:
    if family.kind == "span_label":
        return [
            f"  <Header value={quoteattr(family.question)}/>",
            f'  <Labels name="{family.name}" toName="{TEXT_OBJECT}" showInline="true">',
            *_options(family, "Label"),
            "  </Labels>",
        ]
    region = family.kind == "region_choice"
    attrs = f'name="{family.name}" toName="{TEXT_OBJECT}" choice="{_CHOICE_MODE[family.kind]}"'
    if region:
        attrs += ' perRegion="true"'
    lines = [
        f"  <Header value={quoteattr(family.question)}/>",
        f"  <Choices {attrs}>",
        *_options(family, "Choice"),
        "  </Choices>",
    ]
    if region:
        return ['  <View visibleWhen="region-selected">', *("  " + line for line in lines), "  </View>"]
    return lines


def labeling_config() -> str:
    """The XML Label Studio shows annotators, one control per schema family."""
    span = [f for f in FAMILIES if f.unit == "span"]
    article = [f for f in FAMILIES if f.unit == "article"]
    lines = ["<View>", f'  <Text name="{TEXT_OBJECT}" value="${TEXT_OBJECT}"/>']
    for family in span:
        lines += _control(family)
    lines.append('  <Header value="Whole article"/>')
    for family in article:
        lines += _control(family)
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def labeling_config_sha256() -> str:
    return hashlib.sha256(labeling_config().encode("utf-8")).hexdigest()
