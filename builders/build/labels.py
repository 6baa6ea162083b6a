"""The build's one representation of labels, from the reader to the writer.

Two tables, with the columns the Features declare (`builders.features`):
- `units`: one row per annotation or prediction (`UNIT_COLUMNS`): provenance, and the
  article-level answers: `risk_disclosures` a sorted list of item codes, or None when the
  annotation answered no article-level question; the single choices a code, or None.
- `spans`: one row per claim span (`SPAN_COLUMNS`), typed: int64 offsets, `claim_type` and
  `evidence` as int8 codes (`NO_LABEL` where a span has no evidence choice).
Every label is a ClassLabel code in the schema's order (`Family.codes`), and `origin` is the
`ORIGIN` code (`schema.HUMAN`, `schema.MODEL`), so aggregation, agreement, the tables, the card
and the release records all read the same codes and decode them through the Features.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from builders.build.parse import Parsed
from builders.features import SPAN_COLUMNS, UNIT_COLUMNS
from builders.schema import ARTICLE_FAMILIES, CLAIM_TYPE, EVIDENCE, HUMAN, MODEL, NO_LABEL

SPAN_CHUNK = 100_000  # spans held as Python lists before they move into a typed DataFrame chunk
CODE_DTYPE = np.int8  # label codes; every family has far fewer than 128 values


@dataclass
class Labels:
    """The validated labels of all files, with what was counted and listed while reading."""

    units: pd.DataFrame
    spans: pd.DataFrame
    counts: Counter = field(default_factory=Counter)
    report: dict[str, list] = field(default_factory=dict)


class LabelRows:
    """Rows as the reader accepts them, moved into typed DataFrame chunks every SPAN_CHUNK spans,
    so memory holds at most that many spans as Python objects."""

    def __init__(self) -> None:
        self.units: list[dict] = []
        self.pending: dict[str, list] = {c: [] for c in SPAN_COLUMNS}
        self.chunks: list[pd.DataFrame] = []
        self.n_spans = 0

    def add_unit(self, unit: dict) -> None:
        self.units.append(unit)

    def add_spans(self, annotation_uid: str, parsed: Parsed, text: str) -> int:
        """Add an annotation's spans with their evidence; returns how many have no evidence."""
        pending, missing = self.pending, 0
        for region in parsed.regions.values():
            evidence = parsed.evidence.get(region.region_id, NO_LABEL)
            missing += evidence == NO_LABEL
            pending["annotation_uid"].append(annotation_uid)
            pending["region_id"].append(region.region_id)
            pending["start"].append(region.start)
            pending["end"].append(region.end)
            pending["text"].append(text[region.start : region.end])
            pending[CLAIM_TYPE.name].append(region.claim_type)
            pending[EVIDENCE.name].append(evidence)
            pending["result_origin"].append(region.origin)
            pending["evidence_origin"].append(parsed.evidence_origin.get(region.region_id, NO_LABEL))
        self.n_spans += len(parsed.regions)
        if len(pending["start"]) >= SPAN_CHUNK:
            self.flush()
        return missing

    def add_span_rows(self, annotation_uid: str, answers) -> int:
        """`add_spans` for a typed task's answers (builders/build/typed.py: `Answers`, spans as
        columns whose texts were checked against the article); returns how many have no evidence."""
        regions, starts, ends, texts, types, origins = answers.spans
        evidence = [answers.evidence.get(r, NO_LABEL) for r in regions]
        pending = self.pending
        pending["annotation_uid"].extend([annotation_uid] * len(regions))
        pending["region_id"].extend(regions)
        pending["start"].extend(starts)
        pending["end"].extend(ends)
        pending["text"].extend(texts)
        pending[CLAIM_TYPE.name].extend(types)
        pending[EVIDENCE.name].extend(evidence)
        pending["result_origin"].extend(origins)
        pending["evidence_origin"].extend([answers.evidence_origin.get(r, NO_LABEL) for r in regions])
        self.n_spans += len(regions)
        if len(pending["start"]) >= SPAN_CHUNK:
            self.flush()
        return evidence.count(NO_LABEL)

    def flush(self) -> None:
        if self.pending["start"]:
            self.chunks.append(span_frame(self.pending))
            self.pending = {c: [] for c in SPAN_COLUMNS}

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(units, spans) with their declared columns and types."""
        self.flush()
        units = pd.DataFrame.from_records(self.units, columns=UNIT_COLUMNS)
        for column in ("ls_project_id", "ls_task_id", "ls_annotation_id", "ls_prediction_id", "parent_prediction"):
            # Label Studio ids are integers, though some exports write them as strings.
            units[column] = pd.to_numeric(units[column], errors="raise").astype("Int64")
        units["ground_truth"] = units["ground_truth"].astype(bool)
        units["origin"] = units["origin"].astype(CODE_DTYPE)
        for family in ARTICLE_FAMILIES:
            if family.kind == "single_choice":  # a code, or null where unanswered
                units[family.name] = pd.array(codes_or_none(units[family.name]), dtype="Int8")
            units[f"{family.name}_origin"] = pd.array(codes_or_none(units[f"{family.name}_origin"]), dtype="Int8")
        chunks = self.chunks or [span_frame({c: [] for c in SPAN_COLUMNS})]
        spans = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
        return units, spans


def span_frame(columns: dict[str, list]) -> pd.DataFrame:
    """A spans table from column lists, with the declared types."""
    frame = pd.DataFrame({c: columns[c] for c in SPAN_COLUMNS})
    frame[["start", "end"]] = frame[["start", "end"]].astype("int64")
    codes = [CLAIM_TYPE.name, EVIDENCE.name, "result_origin", "evidence_origin"]
    frame[codes] = frame[codes].astype(CODE_DTYPE)
    return frame


def codes_or_none(column: pd.Series) -> list:
    """A nullable code column as Python ints and None (pandas' missing markers → None)."""
    return column.astype(object).where(column.notna(), None).tolist()


def provenance(ls_project: object, ls_task: object, shown: str, index: int) -> dict[str, str]:
    """A task's `source`: the Label Studio task its labels live in when its ids are known, so the
    value is the same whichever snapshot (full, delta or compacted) the build read it from; else
    the file (an import-format predictions file has no ids) and the task's index in it. And its
    `read_from`, the file as read, for messages and the build report only."""
    read_from = f"{shown}#{index}"
    known = ls_project is not None and ls_task is not None
    return {
        "source": f"label-studio:project-{ls_project}/task-{ls_task}" if known else read_from,
        "read_from": read_from,
    }


def human_unit(context: dict, annotation_id: int, **fields: object) -> dict:
    """A person's annotation as a `units` row; `fields`: annotator, ground_truth,
    parent_prediction, created_at, updated_at."""
    return {
        **context,
        "annotation_uid": f"ls-{context['ls_project_id']}-t{context['ls_task_id']}-a{annotation_id}",
        "origin": HUMAN,
        "model_version": None,
        "ls_annotation_id": annotation_id,
        "ls_prediction_id": None,
        **fields,
    }


def model_uid(model_version: str, article_id: str) -> str:
    return f"model-{model_version}-{article_id}"


def model_unit(
    context: dict, model_version: str, prediction_id: object, created_at: object, updated_at: object
) -> dict:
    """A prediction as a `units` row: one per (model_version, article), whichever task held it."""
    return {
        **context,
        "annotation_uid": model_uid(model_version, context["article_id"]),
        "origin": MODEL,
        "annotator": f"model/{model_version}",
        "model_version": model_version,
        "ground_truth": False,
        "ls_annotation_id": None,
        "ls_prediction_id": prediction_id,
        "parent_prediction": None,
        "created_at": created_at,
        "updated_at": updated_at,
    }
