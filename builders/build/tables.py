"""Shape stage: corpus + labels + aggregates → every config's tables, per split.

Rows are sorted by stable keys so two builds of the same inputs give the same bytes.
Labels arrive as ClassLabel codes already (builders/build/labels.py), so encoding is only
turning columns into Arrow arrays of the Features' explicit schema, never an inferred one.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
from datasets import ClassLabel

from builders.build.aggregate import Aggregated
from builders.build.labels import Labels
from builders.build.tokens import claim_tokens_frame
from builders.features import ARTICLE_LABEL_COLUMNS, FEATURES, SPAN, arrow_schema
from builders.layout import CONFIGS, SPLITS
from builders.schema import RISK_DISCLOSURES

# `written(config, {split: table})` takes each split's table as soon as it is made and returns what is
# kept of it (builders/build/write.py: `Writer`); see per_split.
Written = Callable[[str, dict[str, pa.Table]], dict[str, pa.Table]] | None


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


def spans_column(units: pd.DataFrame, spans: pd.DataFrame, masked: frozenset[str] = frozenset()) -> pa.ListArray:
    """The annotations config's nested `spans` column, one list per row of `units`, built from
    typed columns (a million spans as Python dicts would cost more time and memory than the rest).
    A label field has a validity bitmap where a value is missing, and always when it is in
    `masked` (a split's column then has the bitmap the whole column's filtered copy had)."""
    struct_type = arrow_schema("annotations").field("spans").type.value_type
    unit = pd.Index(units["annotation_uid"]).get_indexer(spans["annotation_uid"])
    # Only the sort keys are sorted; each field is then taken in that order, one at a time.
    keys = pd.DataFrame({"_unit": unit, "start": spans["start"].to_numpy(), "end": spans["end"].to_numpy()})
    keys["region_id"] = spans["region_id"].to_numpy()
    order = keys.reset_index(drop=True).sort_values(["_unit", "start", "end", "region_id"], kind="stable").index
    order = order.to_numpy()
    del keys
    counts = np.bincount(unit, minlength=len(units))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), type=pa.int32())
    arrays = []
    for field in struct_type:
        column = spans[field.name]
        if isinstance(SPAN[field.name], ClassLabel):  # codes, NO_LABEL (-1) as null
            codes = column.to_numpy(dtype="int64")[order]
            missing = codes < 0
            bitmap = missing.any() or field.name in masked
            arrays.append(pa.array(codes, mask=missing if bitmap else None, type=field.type))
        else:
            arrays.append(arrow_values(column.iloc[order], field.type))
    values = pa.StructArray.from_arrays(arrays, fields=list(struct_type))
    return pa.ListArray.from_arrays(offsets, values)


def arrow_values(column: pd.Series, arrow_type: pa.DataType) -> pa.Array:
    """`column` (labels as codes, missing values as pandas' markers) as an Arrow array, the same
    as `pa.array` of its values as Python objects with None for missing would be, but without
    those objects. Arrow keeps a string column's validity bitmap even when no value is missing;
    the objects' array has none, and the card reports the tables' nbytes, so it is dropped."""
    array = pa.array(column, type=arrow_type)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count == 0 and array.buffers()[0] is not None:
        array = pa.Array.from_buffers(array.type, len(array), [None, *array.buffers()[1:]], offset=array.offset)
    return array


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
        arrow_type = schema.field(name).type
        arrays.append(
            pa.array(column.tolist(), arrow_type) if pa.types.is_list(arrow_type) else arrow_values(column, arrow_type)
        )
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
    (none: null); `counts` receives the claim_tokens rules' counts. (The build calls the two
    parts itself, to let the labels go between them.)"""
    tables = {"annotations": annotation_tables(labels, assignments, folds)}
    return in_config_order(tables | article_tables(corpus, aggregated, assignments, folds, counts))


def in_config_order(tables: dict[str, dict[str, pa.Table]]) -> dict[str, dict[str, pa.Table]]:
    return {config: tables[config] for config in CONFIGS}


def article_tables(
    corpus: pd.DataFrame,
    aggregated: Aggregated,
    assignments: dict[str, str],
    folds: dict[str, int] | None = None,
    counts: Counter | None = None,
    written: Written = None,
) -> dict[str, dict[str, pa.Table]]:
    """The claims, articles and claim_tokens configs' tables, one config at a time: each one's
    frames and token columns are let go before the next (at 10,000 articles they are as large
    as the tables). `written`: see per_split."""
    claims, articles = claims_frame(aggregated), articles_frame(corpus, aggregated)
    counts = Counter() if counts is None else counts
    labelled = articles[articles["labeled"]].sort_values("article_id")  # claim_tokens' rows, in order

    rows = labelled[["article_id"]].reset_index(drop=True)
    tokens_of = functools.partial(split_tokens, labelled, claims, counts)  # a split's articles at a time
    tables = {"claim_tokens": per_split("claim_tokens", rows, assignments, folds, tokens_of, written)}
    del tokens_of, rows, labelled
    tables["claims"] = per_split("claims", claims, assignments, folds, written=written)
    del claims
    tables["articles"] = per_split("articles", articles, assignments, folds, written=written)
    return tables


def split_tokens(labelled: pd.DataFrame, claims: pd.DataFrame, counts: Counter, chosen: np.ndarray):
    """The claim_tokens list columns of the chosen rows of `labelled` (the labelled articles, in
    id order), tokenized and tagged alone; compact, as a selection of every article's columns is."""
    _rows, columns = claim_tokens_frame(labelled[chosen], claims, counts)
    return columns.select(np.ones(int(chosen.sum()), dtype=bool))


def annotation_tables(
    labels: Labels,
    assignments: dict[str, str],
    folds: dict[str, int] | None = None,
    written: Written = None,
) -> dict[str, pa.Table]:
    """The annotations config's tables, a split at a time: the nested spans column of each split
    is built from that split's spans alone."""
    units = annotations_frame(labels)
    uids = labels.spans["annotation_uid"]
    labelled = [n for n, f in SPAN.items() if isinstance(f, ClassLabel)]
    masked = frozenset(n for n in labelled if (labels.spans[n].to_numpy(dtype="int64") < 0).any())

    def spans_of(chosen: np.ndarray) -> dict[str, pa.Array]:
        mine = units[chosen]
        column = spans_column(mine, labels.spans[uids.isin(mine["annotation_uid"]).to_numpy()], masked)
        # filtered as the whole column was, so its buffers (the card's num_bytes) are as they were
        return {"spans": column.filter(pa.array(np.ones(len(column), dtype=bool)))}

    return per_split("annotations", units, assignments, folds, spans_of, written)


def per_split(
    config: str,
    frame: pd.DataFrame,
    assignments: dict[str, str],
    folds: dict[str, int] | None,
    ready: Callable[[np.ndarray], dict[str, pa.Array]] | None = None,
    written: Written = None,
) -> dict[str, pa.Table]:
    """{split: table} of one config's rows; `ready(chosen)` gives the columns already built as
    Arrow arrays (nested ones) for the rows a mask over `frame` chooses; `written(config, {split:
    table})`, when given, takes each split's table as soon as it is made and returns what is kept
    of it (builders/build/write.py: `Writer`)."""
    frame["fold"] = pd.array(frame["article_id"].map(folds or {}), dtype="Int32")
    split_of = frame["article_id"].map(assignments)
    tables = {}
    for split in SPLITS:
        chosen = (split_of == split).to_numpy()
        table = to_arrow(config, frame[chosen], ready(chosen) if ready else None)
        tables[split] = written(config, {split: table})[split] if written else table
        del table
    return tables
