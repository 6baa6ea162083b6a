"""The tables stage (builders/build/tables.py): the label codes the reader made reach Arrow unchanged,
and equal what `datasets`' own Features would encode from the decoded names."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest

from builders.build.aggregate import aggregate
from builders.build.labels import codes_or_none
from builders.build.read import read_labels
from builders.build.tables import arrow_values, split_tables
from builders.corpus.records import load_corpus
from builders.corpus.splits import read_split_file
from builders.features import FEATURES, arrow_schema
from builders.layout import CONFIGS, SPLITS
from builders.project import load_project
from tests.conftest import copy_project


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    project = load_project(copy_project(tmp_path_factory.mktemp("tables") / "p"))
    corpus = load_corpus(project)
    labels = read_labels(project, corpus)
    assignments = read_split_file(project.split_file, "corpus/splits.csv")
    tables = split_tables(corpus, labels, aggregate(labels.units, labels.spans), assignments)
    return corpus, labels, tables, project.root


def test_every_config_and_split_has_the_explicit_schema(tables):
    built = tables[2]
    for config in CONFIGS:
        assert set(built[config]) == set(SPLITS)
        for split in SPLITS:
            assert built[config][split].schema == arrow_schema(config)


def exported_labels(root) -> dict[tuple[int, object], str]:
    """(annotation id, region id) → claim_type name, straight from the fixture's export files."""
    found = {}
    for path in sorted((root / "annotations" / "exports").glob("project-*.json")):
        for task in json.loads(path.read_text(encoding="utf-8")):
            for annotation in task["annotations"]:
                for item in annotation["result"]:
                    if item["from_name"] == "claim_type":
                        found[(annotation["id"], item["id"])] = item["value"]["labels"][0]
    return found


def test_span_codes_decode_to_the_names_label_studio_exported(tables):
    """The one representation: a span's code, decoded through the Features, is the name in the
    export it came from (so no stage re-ordered or re-coded a label's values)."""
    root, built = tables[3], tables[2]
    exported = exported_labels(root)
    names = FEATURES["annotations"]["spans"].feature["claim_type"].names
    checked = 0
    for table in built["annotations"].values():
        for row in table.to_pylist():
            for span in row["spans"]:
                if row["ls_annotation_id"] is not None:
                    key = (row["ls_annotation_id"], span["region_id"])
                    if key in exported:  # the newest snapshot's copy of it
                        assert names[span["claim_type"]] == exported[key]
                        checked += 1
    assert checked > 10


def test_every_annotation_and_article_becomes_exactly_one_row(tables):
    corpus, labels, built, _root = tables
    assert sum(t.num_rows for t in built["annotations"].values()) == len(labels.units)
    assert sum(t.num_rows for t in built["articles"].values()) == len(corpus)
    spans = sum(len(s) for t in built["annotations"].values() for s in t.column("spans").to_pylist())
    assert spans == len(labels.spans)


def test_span_texts_are_the_article_text_at_their_offsets(tables):
    corpus, _labels, built, _root = tables
    texts = dict(zip(corpus["article_id"], corpus["text"], strict=True))
    for table in built["claims"].values():
        for row in table.to_pylist():
            assert texts[row["article_id"]][row["start"] : row["end"]] == row["text"]


@pytest.mark.parametrize(
    ("values", "dtype", "arrow_type"),
    [
        (["a", "bé", "c"], "str", pa.string()),
        (["a", None, "c"], "str", pa.string()),
        ([1, None, 3], "Int8", pa.int8()),
        ([1, 2, 3], "Int32", pa.int32()),
        ([4, 5, 6], "int64", pa.int32()),
        ([True, False, True], "bool", pa.bool_()),
        (["x", None, "z"], "object", pa.string()),
        ([], "str", pa.string()),
    ],
)
def test_arrow_values_are_what_python_objects_would_give(values, dtype, arrow_type):
    # Taken out of order and in part, as a split's rows are.
    column = pd.Series(values * 3, dtype=dtype).iloc[::-2]
    expected = pa.array(codes_or_none(column), type=arrow_type)
    found = arrow_values(column, arrow_type)
    assert found.equals(expected) and found.type == expected.type
    assert found.nbytes == expected.nbytes and found.null_count == expected.null_count  # the card reports nbytes
