"""What a release record says about its labels: the label index (for the next release's
diff), the changes since the previous release, and the figures of the CHANGELOG.

Every label is read as the ClassLabel code the tables store and decoded through
`builders.features.FEATURES`, the declaration the tables were written with.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from datasets import ClassLabel

from builders.features import FEATURES
from builders.schema import ARTICLE_FAMILIES, SPAN_FAMILIES

# Which config holds each family's aggregated label: from the schema, never typed again.
INDEXED = {
    "claims": tuple(f.name for f in SPAN_FAMILIES),
    "articles": tuple(f.name for f in ARTICLE_FAMILIES),
}


def class_label(config: str, column: str) -> ClassLabel:
    feature = FEATURES[config][column]
    return getattr(feature, "feature", feature)  # a List(ClassLabel) holds its ClassLabel


def label_index(folder: Path) -> dict[str, dict[str, str]]:
    """Compact view of the labels ("value|origin" by claim or article), for the next release's diff."""
    index: dict[str, dict[str, str]] = {name: {} for names in INDEXED.values() for name in names}
    for config, keys in INDEXED.items():
        names = {name: class_label(config, name).names for name in (*keys, "origin")}
        for path in sorted((folder / config).glob("*.parquet")):
            for row in pq.read_table(path).to_pylist():
                if config == "articles" and not row["labeled"]:
                    continue
                key = row["claim_id"] if config == "claims" else row["article_id"]
                for name in keys:
                    value = row[name]
                    if isinstance(value, list):
                        shown = ",".join(names[name][v] for v in value)
                    else:
                        shown = names[name][value] if value is not None else ""
                    index[name][key] = f"{shown}|{names['origin'][row['origin']]}"
    return index


def label_changes(old: dict | None, new: dict) -> dict[str, dict[str, int]]:
    changes = {}
    for family, labels in new.items():
        before = (old or {}).get(family, {})
        changes[family] = {
            "added": len(set(labels) - set(before)),
            "changed": sum(1 for k in set(labels) & set(before) if labels[k] != before[k]),
            "removed": len(set(before) - set(labels)),
        }
    return changes


def origin_counts(folder: Path) -> dict[str, int]:
    """Claims by origin, {"origin_human": n, "origin_model": n}, from the `origin` codes of the
    built claims tables (every origin the schema declares, 0 when absent)."""
    origin = class_label("claims", "origin")
    codes: Counter[int] = Counter()
    for path in sorted((folder / "claims").glob("*.parquet")):
        codes.update(pq.read_table(path, columns=["origin"]).column("origin").to_pylist())
    return {f"origin_{name}": codes[origin.str2int(name)] for name in origin.names}


def figures_of(manifest: dict, folder: Path) -> dict[str, int]:
    """Row counts from the build's manifest and claim origins from its tables, as integers."""
    rows: Counter[str] = Counter()
    for path, info in manifest["outputs"].items():
        if "rows" in info:
            rows[path.split("/")[0]] += info["rows"]
    return {
        "articles": rows["articles"],
        "claims": rows["claims"],
        "annotations": rows["annotations"],
        **origin_counts(folder),
    }
