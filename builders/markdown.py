"""Markdown written by code: the tables of the card, its sections and the guidelines' label tables."""

from __future__ import annotations

from builders.schema import FAMILIES, SPAN_FAMILIES


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def label_schema_markdown() -> str:
    """The card's label schema: each family's question and values (the guidelines' tables, builders/derived.py,
    also show an ordinal family's ranks)."""
    parts = []
    for family in FAMILIES:
        unit = "claim span" if family in SPAN_FAMILIES else "article"
        kind = "multi-label" if family.kind == "multi_choice" else "one value"
        rows = [[f"`{v.name}`", v.meaning] for v in family.values]
        parts.append(
            f"**`{family.name}`** ({unit}, {kind}): {family.question}\n\n" + md_table(["value", "meaning"], rows)
        )
    return "\n\n".join(parts)
