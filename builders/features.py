"""Hugging Face `Features` of the dataset configs, derived from the schema.

Labels are `ClassLabel`s whose names are the schema's values in declared order, so
`ds.features["claim_type"].names` works after `load_dataset`. A null label means
"not decided" (a tie, or nothing labelled); `not_applicable` is a real value.
"""

from __future__ import annotations

import pyarrow as pa
from datasets import ClassLabel, Features, List, Value

from builders.layout import CONFIGS
from builders.schema import (
    AGGREGATION_RULES,
    CLAIM_TYPE,
    EVIDENCE,
    EVIDENCE_EXPLAINED,
    HARMS_EXPLAINED,
    ORIGINS,
    RESULT_ORIGINS,
    RISK_DISCLOSURES,
    Family,
)


def class_label(family: Family) -> ClassLabel:
    return ClassLabel(names=family.names)


ORIGIN = ClassLabel(names=list(ORIGINS))
RESULT_ORIGIN = ClassLabel(names=list(RESULT_ORIGINS))  # Label Studio's per-result origin
AGGREGATION = ClassLabel(names=list(AGGREGATION_RULES))
# The article's cross-validation fold (builders/corpus/folds.py): 0..N_FOLDS-1 for train and
# validation articles, null for test articles (held out). The last column of every config.
FOLD_FIELD = {"fold": Value("int32")}

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
        "n_accepted_unchanged": Value("int32"),  # of those, how many human votes kept a prediction unchanged
        "annotators": List(Value("string")),
        "source_annotations": List(Value("string")),
        "guideline_version": Value("string"),
        **FOLD_FIELD,
    }
)

# The corpus's columns, as the `articles` config carries them.
CORPUS_FIELDS = {
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
}
# An article's aggregated labels (builders/build/aggregate.py makes one row of these per labelled article).
ARTICLE_LABEL_FIELDS = {
    RISK_DISCLOSURES.name: List(class_label(RISK_DISCLOSURES)),
    # Items the annotators split evenly on: neither present nor absent.
    f"{RISK_DISCLOSURES.name}_undecided": List(class_label(RISK_DISCLOSURES)),
    HARMS_EXPLAINED.name: class_label(HARMS_EXPLAINED),
    EVIDENCE_EXPLAINED.name: class_label(EVIDENCE_EXPLAINED),
    "origin": ORIGIN,
    "aggregation": AGGREGATION,
    "n_annotators": Value("int32"),
    # of the deciding human annotators, how many submitted the article-level answers of a prediction unchanged
    "n_accepted_unchanged": Value("int32"),
    "annotators": List(Value("string")),
    "guideline_version": Value("string"),
}
ARTICLES = Features(
    {
        **CORPUS_FIELDS,
        "labeled": Value("bool"),
        "n_claims": Value("int32"),
        **ARTICLE_LABEL_FIELDS,
        **FOLD_FIELD,
    }
)

SPAN = {
    "region_id": Value("string"),
    "start": Value("int32"),
    "end": Value("int32"),
    "text": Value("string"),
    CLAIM_TYPE.name: class_label(CLAIM_TYPE),
    EVIDENCE.name: class_label(EVIDENCE),
    "result_origin": RESULT_ORIGIN,  # of the claim_type result (the span and its label)
    "evidence_origin": RESULT_ORIGIN,  # of the evidence choice; null when there is none
}

# One annotation's (or prediction's) row: who, where from, and its article-level answers.
_UNIT_HEAD = {
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
    "parent_prediction": Value("int64"),  # the prediction the annotation was started from, if any
    "guideline_version": Value("string"),
    "labeling_config_sha256": Value("string"),
    "created_at": Value("string"),
    "updated_at": Value("string"),
}
_UNIT_TAIL = {
    RISK_DISCLOSURES.name: List(class_label(RISK_DISCLOSURES)),
    HARMS_EXPLAINED.name: class_label(HARMS_EXPLAINED),
    EVIDENCE_EXPLAINED.name: class_label(EVIDENCE_EXPLAINED),
    **{f"{f}_origin": RESULT_ORIGIN for f in (RISK_DISCLOSURES.name, HARMS_EXPLAINED.name, EVIDENCE_EXPLAINED.name)},
    "source": Value("string"),  # the Label Studio task ("label-studio:project-7/task-3"), or file#index
}
UNIT_FIELDS = {**_UNIT_HEAD, **_UNIT_TAIL}
ANNOTATIONS = Features({**_UNIT_HEAD, "spans": List(SPAN), **_UNIT_TAIL, **FOLD_FIELD})

# BIO tags over the claim types: O, then B-/I- per claim type in the schema's order, so
# B-<type> has code 1 + 2 * (the type's code) and I-<type> the code after it.
BIO_TAGS = ["O", *(f"{prefix}-{name}" for name in CLAIM_TYPE.names for prefix in ("B", "I"))]

# One row per labelled article: tokens, their offsets and BIO tags over the claim types
# (builders/build/tokens.py).
CLAIM_TOKENS = Features(
    {
        "article_id": Value("string"),
        "tokens": List(Value("string")),
        "token_start": List(Value("int32")),
        "token_end": List(Value("int32")),
        "tags": List(ClassLabel(names=BIO_TAGS)),
        **FOLD_FIELD,
    }
)

FEATURES: dict[str, Features] = dict(zip(CONFIGS, (CLAIMS, ARTICLES, ANNOTATIONS, CLAIM_TOKENS), strict=True))

# The build's label tables carry these columns (read.py makes them, aggregate.py and tables.py use them).
UNIT_COLUMNS = list(UNIT_FIELDS)
SPAN_COLUMNS = ["annotation_uid", *SPAN]
CLAIM_COLUMNS = [c for c in CLAIMS if c not in FOLD_FIELD]
ARTICLE_LABEL_COLUMNS = ["article_id", *ARTICLE_LABEL_FIELDS]


def arrow_schema(config: str) -> pa.Schema:
    """The explicit Arrow schema a config's Parquet files are written with (HF metadata included)."""
    return FEATURES[config].arrow_schema


def label_names(config: str, column: str) -> list[str]:
    """The names of a label column's ClassLabel codes (of its items, for a list column)."""
    feature = FEATURES[config][column]
    return list(getattr(feature, "feature", feature).names)


def decode(config: str, column: str, code: int | None) -> str | None:
    """A label code of `column` as its name; None (or NO_LABEL) as None."""
    return None if code is None or code < 0 else label_names(config, column)[code]
