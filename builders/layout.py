"""The dataset's layout, declared once: configs, splits and the file of each (config, split).

The writer, the card's YAML, Croissant, the release records and `khc verify` all take the
layout from here, so a file name or a config exists in one place only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

CONFIGS = ("claims", "articles", "annotations", "claim_tokens")
DEFAULT_CONFIG = "claims"
SPLITS = ("train", "validation", "test")


class _HasRows(Protocol):
    num_rows: int


def parquet_path(config: str, split: str) -> str:
    """Where a (config, split) lives in the dataset repo, relative to its root."""
    return f"{config}/{split}-00000-of-00001.parquet"


def present_splits(tables: Mapping[str, Mapping[str, _HasRows]], config: str) -> list[str]:
    """Splits with rows. `datasets` refuses to load a declared split that has no data, so
    empty splits are neither written nor declared, and a config with no rows is left out."""
    return [s for s in SPLITS if tables[config][s].num_rows]


def present_files(tables: Mapping[str, Mapping[str, _HasRows]]) -> dict[str, tuple[str, str]]:
    """{relative path: (config, split)} of every Parquet file a build writes, in layout order."""
    return {parquet_path(c, s): (c, s) for c in CONFIGS for s in present_splits(tables, c)}
