"""Shape stage: corpus + labels + aggregates → the three configs' tables, per split.

Rows are sorted by stable keys so two builds of the same inputs give the same bytes.
Labels are encoded by the config's `Features` (ClassLabel names → ints) and the Arrow
table gets the Features' explicit schema, never an inferred one.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from builders.aggregate import ARTICLE_LABEL_COLUMNS, Aggregated
from builders.exports import SPAN_COLUMNS, Labels
from builders.features import FEATURES, SPLITS, arrow_schema
from builders.schema import RISK_DISCLOSURES


def claims_frame(aggregated: Aggregated) -> pd.DataFrame:
    return aggregated.claims.sort_values(["article_id", "start", "end", "claim_id"], ignore_index=True)


def articles_frame(corpus: pd.DataFrame, aggregated: Aggregated) -> pd.DataFrame:
    labels = aggregated.articles[ARTICLE_LABEL_COLUMNS]
    frame = corpus.merge(labels, on="article_id", how="left", validate="one_to_one")
    frame["labeled"] = frame["origin"].notna()
    n_claims = aggregated.claims.groupby("article_id").size()
    frame["n_claims"] = frame["article_id"].map(n_claims).fillna(0).astype(int)
    for column in (RISK_DISCLOSURES.name, f"{RISK_DISCLOSURES.name}_undecided", "annotators"):
        frame[column] = frame[column].map(lambda v: v if isinstance(v, list) else [])
    frame["n_annotators"] = frame["n_annotators"].fillna(0).astype(int)
    return frame.sort_values("article_id", ignore_index=True)


def annotations_frame(labels: Labels) -> pd.DataFrame:
    units = labels.units.copy()
    span_fields = [c for c in SPAN_COLUMNS if c != "annotation_uid"]
    spans = labels.spans.sort_values(["annotation_uid", "start", "end", "region_id"])
    nested = {uid: group[span_fields].to_dict("records") for uid, group in spans.groupby("annotation_uid", sort=False)}
    units["spans"] = units["annotation_uid"].map(lambda uid: nested.get(uid, []))
    return units.sort_values(["article_id", "annotation_uid"], ignore_index=True)


def to_arrow(config: str, frame: pd.DataFrame) -> pa.Table:
    features = FEATURES[config]
    columns = list(features)
    batch = {c: [_plain(v) for v in frame[c].tolist()] for c in columns} if len(frame) else {c: [] for c in columns}
    encoded = features.encode_batch(batch) if len(frame) else batch
    return pa.Table.from_pydict(encoded, schema=arrow_schema(config))


def _plain(value):
    """pandas' missing markers (NaN, NA; pandas 3 strings use NaN) → None, nested too,
    so the Features encode a null rather than a float."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return None if pd.isna(value) else value


def split_tables(
    corpus: pd.DataFrame, labels: Labels, aggregated: Aggregated, assignments: dict[str, str]
) -> dict[str, dict[str, pa.Table]]:
    """{config: {split: table}} for all three configs and all three splits."""
    frames = {
        "claims": claims_frame(aggregated),
        "articles": articles_frame(corpus, aggregated),
        "annotations": annotations_frame(labels),
    }
    tables: dict[str, dict[str, pa.Table]] = {}
    for config, frame in frames.items():
        split_of = frame["article_id"].map(assignments)
        tables[config] = {split: to_arrow(config, frame[split_of == split]) for split in SPLITS}
    return tables
