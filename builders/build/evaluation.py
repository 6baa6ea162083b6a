"""What the splits and folds allow: labelled articles per fold, the classes each split lacks,
and whether an evaluation split is big enough to report a score on. The card and Croissant
both say it, computed here from the built tables."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

from builders.corpus.folds import N_FOLDS
from builders.features import FEATURES, label_names
from builders.layout import SPLITS
from builders.schema import FAMILIES, SPAN_FAMILIES

EVALUATION_SPLITS = ("validation", "test")
# Below this many labelled articles a split's score describes its articles, not a model (the
# issue's threshold for leave-one-article-out style evaluation).
MIN_EVALUATION_ARTICLES = 10


def labelled_articles(tables: dict[str, dict[str, pa.Table]]) -> dict[str, list[dict]]:
    """{split: [{article_id, fold}]} of the labelled articles."""
    columns = ["article_id", "fold", "labeled"]
    return {s: [r for r in tables["articles"][s].select(columns).to_pylist() if r["labeled"]] for s in SPLITS}


def fold_rows(tables: dict[str, dict[str, pa.Table]]) -> list[list]:
    """[fold, train articles, validation articles, claims] per fold, labelled articles only."""
    articles = labelled_articles(tables)
    claims = Counter(f for s in SPLITS for f in tables["claims"][s].column("fold").to_pylist() if f is not None)
    rows = []
    for fold in range(N_FOLDS):
        per_split = [sum(1 for a in articles[s] if a["fold"] == fold) for s in ("train", "validation")]
        rows.append([fold, *per_split, claims[fold]])
    return rows


def present_values(tables: dict[str, pa.Table], config: str, column: str) -> set[str]:
    """The values a label column takes in a split (items ticked, for a checklist)."""
    names = label_names(config, column)
    many = hasattr(FEATURES[config][column], "feature")
    found: set[str] = set()
    for table in tables.values():
        values = table.column(column)
        codes = pc.unique(pc.list_flatten(values) if many else values).drop_null()
        found.update(names[code] for code in codes.to_pylist())
    return found


def missing_classes(tables: dict[str, dict[str, pa.Table]]) -> dict[str, dict[str, list[str]]]:
    """{split: {label column: values no decided label of that split takes}} for splits with labels."""
    articles = labelled_articles(tables)
    missing: dict[str, dict[str, list[str]]] = {}
    for split in SPLITS:
        if not articles[split]:
            continue
        missing[split] = {}
        for family in FAMILIES:
            config = "claims" if family in SPAN_FAMILIES else "articles"
            found = present_values({split: tables[config][split]}, config, family.name)
            absent = [n for n in family.names if n not in found]
            if absent:
                missing[split][family.name] = absent
    return missing


def missing_classes_markdown(tables: dict[str, dict[str, pa.Table]]) -> str:
    missing = missing_classes(tables)
    if not missing:
        return "_No labels yet, so no split has any class._"
    lines = []
    for split, columns in missing.items():
        if not columns:
            lines.append(f"- `{split}`: every value of every label occurs.")
            continue
        parts = "; ".join(f"`{c}`: " + ", ".join(f"`{v}`" for v in values) for c, values in columns.items())
        lines.append(f"- `{split}` has no {parts}.")
    return "\n".join(lines)


def evaluation_note(tables: dict[str, dict[str, pa.Table]]) -> str:
    """Plain words on each evaluation split's size: one or two articles are not a test set."""
    articles = labelled_articles(tables)
    small = [
        f"`{s}` holds {len(articles[s])} labelled article{'' if len(articles[s]) == 1 else 's'}"
        for s in EVALUATION_SPLITS
        if len(articles[s]) < MIN_EVALUATION_ARTICLES
    ]
    if not small:
        return f"Every evaluation split holds at least {MIN_EVALUATION_ARTICLES} labelled articles."
    return (
        "**The evaluation splits are too small to report scores on:** "
        + "; ".join(small)
        + ". A score on a split of a few articles describes those articles, not a model, and"
        " classes missing from a split (listed below) cannot be scored on it at all. Until the corpus grows, use"
        " the folds for cross-validation over train and validation, and report the spread over folds."
    )
