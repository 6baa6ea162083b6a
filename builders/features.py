"""Hugging Face `Features` of the three dataset configs, derived from the schema.

Labels are `ClassLabel`s whose names are the schema's values in declared order, so
`ds.features["claim_type"].names` works after `load_dataset`. A null label means
"not decided" (a tie, or nothing labelled); `not_applicable` is a real value.
"""

from __future__ import annotations

import pyarrow as pa
from datasets import ClassLabel, Features, List, Value

from builders.schema import (
    AGGREGATION_RULES,
    CLAIM_TYPE,
    EVIDENCE,
    EVIDENCE_EXPLAINED,
    HARMS_EXPLAINED,
    ORIGINS,
    RISK_DISCLOSURES,
    Family,
)

CONFIGS = ("claims", "articles", "annotations")
DEFAULT_CONFIG = "claims"
SPLITS = ("train", "validation", "test")


def class_label(family: Family) -> ClassLabel:
    return ClassLabel(names=family.names)


ORIGIN = ClassLabel(names=list(ORIGINS))
AGGREGATION = ClassLabel(names=list(AGGREGATION_RULES))

CLAIMS = Features(
    {
        "claim_id": Value("string"),
        "article_id": Value("string"),
        "start": Value("int32"),
        "end": Value("int32"),
        "text": Value("string"),
        CLAIM_TYPE.name: class_label(CLAIM_TYPE),
        EVIDENCE.name: class_label(EVIDENCE),
        "origin": ORIGIN,
        "aggregation": AGGREGATION,
        "n_annotators": Value("int32"),  # annotators of that tier who had the article
        "n_marked": Value("int32"),  # of them, how many marked a matching span
        "annotators": List(Value("string")),
        "source_annotations": List(Value("string")),
        "guideline_version": Value("string"),
    }
)

ARTICLES = Features(
    {
        "article_id": Value("string"),
        "title": Value("string"),
        "text": Value("string"),
        "text_sha256": Value("string"),
        "url": Value("string"),
        "publisher": Value("string"),
        "published": Value("string"),
        "retrieved": Value("string"),
        "source_file": Value("string"),
        "conditions": List(Value("string")),
        "license_note": Value("string"),
        "labeled": Value("bool"),
        "n_claims": Value("int32"),
        RISK_DISCLOSURES.name: List(class_label(RISK_DISCLOSURES)),
        # Items the annotators split evenly on: neither present nor absent.
        f"{RISK_DISCLOSURES.name}_undecided": List(class_label(RISK_DISCLOSURES)),
        HARMS_EXPLAINED.name: class_label(HARMS_EXPLAINED),
        EVIDENCE_EXPLAINED.name: class_label(EVIDENCE_EXPLAINED),
        "origin": ORIGIN,
        "aggregation": AGGREGATION,
        "n_annotators": Value("int32"),
        "annotators": List(Value("string")),
        "guideline_version": Value("string"),
    }
)

SPAN = {
    "region_id": Value("string"),
    "start": Value("int32"),
    "end": Value("int32"),
    "text": Value("string"),
    CLAIM_TYPE.name: class_label(CLAIM_TYPE),
    EVIDENCE.name: class_label(EVIDENCE),
}

ANNOTATIONS = Features(
    {
        "annotation_uid": Value("string"),
        "article_id": Value("string"),
        "origin": ORIGIN,
        "annotator": Value("string"),
        "model_version": Value("string"),
        "ground_truth": Value("bool"),
        "ls_project_id": Value("int64"),
        "ls_task_id": Value("int64"),
        "ls_annotation_id": Value("int64"),
        "ls_prediction_id": Value("int64"),
        "guideline_version": Value("string"),
        "labeling_config_sha256": Value("string"),
        "created_at": Value("string"),
        "updated_at": Value("string"),
        "spans": List(SPAN),
        RISK_DISCLOSURES.name: List(class_label(RISK_DISCLOSURES)),
        HARMS_EXPLAINED.name: class_label(HARMS_EXPLAINED),
        EVIDENCE_EXPLAINED.name: class_label(EVIDENCE_EXPLAINED),
        "source": Value("string"),  # export file and task index: "annotations/exports/x.json#3"
    }
)

FEATURES: dict[str, Features] = {"claims": CLAIMS, "articles": ARTICLES, "annotations": ANNOTATIONS}


def arrow_schema(config: str) -> pa.Schema:
    """The explicit Arrow schema a config's Parquet files are written with (HF metadata included)."""
    return FEATURES[config].arrow_schema
