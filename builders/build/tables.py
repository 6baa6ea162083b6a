"""Shape stage: corpus + labels + aggregates → every config's tables, per split.

Rows are sorted by stable keys so two builds of the same inputs give the same bytes.
Labels arrive as ClassLabel codes already (builders/build/labels.py), so encoding is only
turning columns into Arrow arrays of the Features' explicit schema, never an inferred one.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
from datasets import ClassLabel

from builders.build.aggregate import Aggregated
from builders.build.labels import Labels, codes_or_none
from builders.build.tokens import claim_tokens_frame
from builders.features import ARTICLE_LABEL_COLUMNS, FEATURES, SPAN, arrow_schema
from builders.layout import SPLITS
from builders.schema import RISK_DISCLOSURES


def claims_frame(aggregated: Aggregated) -> pd.DataFrame:
    return aggregated.claims.sort_values(["article_id", "start", "end", "claim_id"], ignore_index=True)


def articles_frame(corpus: pd.DataFrame, aggregated: Aggregated) -> pd.DataFrame:
    labels = aggregated.articles[ARTICLE_LABEL_COLUMNS]
    frame = corpus.merge(labels, on="article_id", how="left", validate="one_to_one")
    frame["labeled"] = frame["origin"].notna().astype(bool)
    n_claims = aggregated.claims.groupby("article_id").size()
    frame["n_claims"] = frame["article_id"].map(n_claims).fillna(0).astype(int)
    # An article nobody labelled has no checklist answer (null), not "nothing disclosed".
    for column in (RISK_DISCLOSURES.name, f"{RISK_DISCLOSURES.name}_undecided"):
        frame[column] = frame[column].map(lambda v: v if isinstance(v, list) else None)
    frame["annotators"] = frame["annotators"].map(lambda v: v if isinstance(v, list) else [])
    for column in ("n_annotators", "n_accepted_unchanged"):
        frame[column] = frame[column].fillna(0).astype(int)
    return frame.sort_values("article_id", ignore_index=True)


def annotations_frame(labels: Labels) -> pd.DataFrame:
    """One row per annotation/prediction, in output order (the nested spans are built apart)."""
    return labels.units.sort_values(["article_id", "annotation_uid"], ignore_index=True)


def spans_column(units: pd.DataFrame, spans: pd.DataFrame) -> pa.ListArray:
    """The annotations config's nested `spans` column, one list per row of `units`, built from
    typed columns (a million spans as Python dicts would cost more time and memory than the rest)."""
    struct_type = arrow_schema("annotations").field("spans").type.value_type
    unit = pd.Categorical(spans["annotation_uid"], categories=units["annotation_uid"]).codes
    ordered = spans.assign(_unit=unit).sort_values(["_unit", "start", "end", "region_id"], kind="stable")
    counts = np.bincount(ordered["_unit"].to_numpy(), minlength=len(units))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), type=pa.int32())
    arrays = []
    for field in struct_type:
        column = ordered[field.name]
        if isinstance(SPAN[field.name], ClassLabel):  # codes, NO_LABEL (-1) as null
            codes = column.to_numpy(dtype="int64")
            missing = codes < 0
            arrays.append(pa.array(codes, mask=missing if missing.any() else None, type=field.type))
        else:
            arrays.append(pa.array(codes_or_none(column), type=field.type))
    values = pa.StructArray.from_arrays(arrays, fields=list(struct_type))
    return pa.ListArray.from_arrays(offsets, values)


def to_arrow(config: str, frame: pd.DataFrame, ready: dict[str, pa.Array] | None = None) -> pa.Table:
    """The config's table from `frame`'s columns (labels already codes) against its explicit
    Arrow schema. `ready` holds columns already built as Arrow arrays."""
    schema = arrow_schema(config)
    arrays = []
    for name in FEATURES[config]:
        if ready and name in ready:
            arrays.append(ready[name])
            continue
        column = frame[name]
        values = column.tolist() if pa.types.is_list(schema.field(name).type) else codes_or_none(column)
        arrays.append(pa.array(values, type=schema.field(name).type))
    return pa.Table.from_arrays(arrays, schema=schema)


def split_tables(
    corpus: pd.DataFrame,
    labels: Labels,
    aggregated: Aggregated,
    assignments: dict[str, str],
    folds: dict[str, int] | None = None,
    counts: Counter | None = None,
) -> dict[str, dict[str, pa.Table]]:
    """{config: {split: table}} for every config and split. `folds`: each article's fold
    (none: null); `counts` receives the claim_tokens rules' counts."""
    frames = {
        "claims": claims_frame(aggregated),
        "articles": articles_frame(corpus, aggregated),
        "annotations": annotations_frame(labels),
    }
    frames["claim_tokens"], token_columns = claim_tokens_frame(
        frames["articles"], frames["claims"], Counter() if counts is None else counts
    )
    # Nested columns are built as Arrow arrays (rows chosen by a mask over their frame).
    spans = spans_column(frames["annotations"], labels.spans)
    ready_columns = {
        "annotations": lambda chosen: {"spans": spans.filter(pa.array(chosen))},
        "claim_tokens": token_columns.select,
    }
    tables: dict[str, dict[str, pa.Table]] = {}
    for config, frame in frames.items():
        frame["fold"] = pd.array(frame["article_id"].map(folds or {}), dtype="Int32")
        split_of = frame["article_id"].map(assignments)
        tables[config] = {}
        for split in SPLITS:
            chosen = (split_of == split).to_numpy()
            ready = ready_columns[config](chosen) if config in ready_columns else None
            tables[config][split] = to_arrow(config, frame[chosen], ready)
    return tables
