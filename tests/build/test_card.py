"""The card (builders/build/card.py): figures computed from the tables, nothing typed."""

from __future__ import annotations

import random
from collections import Counter

import pyarrow as pa
import pytest
from datasets import List

from builders.build.aggregate import aggregate
from builders.build.card import _distribution, figures, render_card
from builders.build.read import read_labels
from builders.build.tables import split_tables
from builders.corpus.records import load_corpus
from builders.corpus.splits import read_split_file
from builders.errors import KhcError
from builders.features import FEATURES, arrow_schema, label_names
from builders.layout import SPLITS
from builders.project import load_project
from tests.conftest import REPO, copy_project

AGREEMENT = {"krippendorff_alpha": {}, "annotators": []}  # no people yet: the section still renders


@pytest.fixture(scope="module", params=["fixture", "committed"])
def built(request, tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("card") / "p", with_fixture_labels=request.param == "fixture")
    if request.param == "committed":
        import shutil

        shutil.copytree(REPO / "annotations" / "predictions", root / "annotations" / "predictions")
    project = load_project(root)
    corpus = load_corpus(project)
    labels = read_labels(project, corpus)
    tables = split_tables(
        corpus, labels, aggregate(labels.units, labels.spans), read_split_file(project.split_file, "x")
    )
    return tables, figures(tables, Counter(), "1.1.0", "abc", AGREEMENT)


def test_counts_are_the_tables_row_counts(built):
    tables, found = built
    assert int(found["n_claims"]) == sum(t.num_rows for t in tables["claims"].values())
    assert int(found["n_articles"]) == sum(t.num_rows for t in tables["articles"].values())
    origins = label_names("annotations", "origin")
    by_origin = Counter(origins[o] for t in tables["annotations"].values() for o in t.column("origin").to_pylist())
    assert int(found["n_human_annotations"]) == by_origin["human"]
    assert int(found["n_model_annotations"]) == by_origin["model"]
    if by_origin["human"] == 0:
        assert "No human annotation has been collected yet" in found["status"]
    else:
        assert f"{by_origin['human']} annotations by" in found["status"]


def test_the_claim_type_table_counts_the_decoded_labels(built):
    tables, found = built
    names, origins = label_names("claims", "claim_type"), label_names("claims", "origin")
    for split in SPLITS:
        table = tables["claims"][split]
        counted = Counter(
            (names[c] if c is not None else "(undecided)", origins[o])
            for c, o in zip(table.column("claim_type").to_pylist(), table.column("origin").to_pylist(), strict=True)
        )
        for (value, origin), n in counted.items():
            line = next(row for row in found["claim_type_table"].splitlines() if row.startswith(f"| {value} |"))
            header = found["claim_type_table"].splitlines()[0].split(" | ")
            column = next(i for i, h in enumerate(header) if h.strip(" |") == f"{split} · {origin}")
            assert int(line.split(" | ")[column].strip(" |")) == n


def test_a_placeholder_the_build_does_not_compute_is_refused():
    with pytest.raises(KhcError, match="unknown placeholders"):
        render_card("{{ n_claims }} and {{ typed_by_hand }}", "datacard.md", None, {"n_claims": "1"})


def test_spans_accepted_unchanged_are_counted_over_every_split(built):
    """The status's count of human spans accepted unchanged from a prediction, counted here
    one span at a time from the tables (the card counts over columns)."""
    tables, found = built
    human = label_names("annotations", "origin").index("human")
    names = FEATURES["annotations"]["spans"].feature["result_origin"].names
    submitted = accepted = 0
    for table in tables["annotations"].values():
        for row in table.select(["origin", "spans"]).to_pylist():
            if row["origin"] == human:
                submitted += len(row["spans"])
                accepted += sum(names[s["result_origin"]] == "prediction" for s in row["spans"])
    if submitted:
        assert f"Of the {submitted} claim spans people submitted, {accepted} are" in found["status"]


def distribution_row_by_row(tables, config, column):
    """The card's label distribution counted one row at a time: the reference for `_distribution`."""
    names, origins = label_names(config, column), label_names(config, "origin")
    many = isinstance(FEATURES[config][column], List)
    counts = {(s, o): Counter() for s in SPLITS for o in origins}
    for split in SPLITS:
        for row in tables[split].select([column, "origin"]).to_pylist():
            if row["origin"] is None:
                continue
            key, value = (split, origins[row["origin"]]), row[column]
            if many and value is None:
                counts[key]["(not answered)"] += 1
                continue
            for v in value if many else [value]:
                counts[key][names[v] if v is not None else "(undecided)"] += 1
    used = [k for k in counts if sum(counts[k].values())]
    extra = [v for v in ("(undecided)", "(not answered)") if any(counts[k][v] for k in used)]
    return {(v, k): counts[k][v] for v in names + extra for k in used}


@pytest.mark.parametrize(("config", "column"), [("articles", "risk_disclosures"), ("claims", "claim_type")])
def test_label_distribution_counts_every_value_origin_and_missing_answer(config, column):
    # Random codes with null values, null and empty checklists, null list items and rows without an origin.
    rng = random.Random(7)
    schema = arrow_schema(config)
    n_values, n_origins = len(label_names(config, column)), len(label_names(config, "origin"))
    many = isinstance(FEATURES[config][column], List)

    def value():
        if many:
            return rng.choice([None, [], [rng.choice([None, *range(n_values)]) for _ in range(rng.randint(1, 4))]])
        return rng.choice([None, *range(n_values)])

    tables = {}
    for split in SPLITS:
        n = rng.randint(0, 40)
        tables[split] = pa.table(
            {
                column: pa.array([value() for _ in range(n)], schema.field(column).type),
                "origin": pa.array(
                    [rng.choice([None, *range(n_origins)]) for _ in range(n)], schema.field("origin").type
                ),
            }
        )
    table = _distribution(tables, config, column)
    expected = distribution_row_by_row(tables, config, column)
    lines = table.splitlines()
    header = [h.strip() for h in lines[0].strip("|").split("|")][1:]
    found = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for key, n in zip(header, cells[1:], strict=True):
            split, origin = key.split(" · ")
            found[(cells[0], (split, origin))] = int(n)
    assert found == expected
    assert any(v == "(undecided)" for v, _ in expected) and (
        not many or any(v == "(not answered)" for v, _ in expected)
    )


def test_the_written_tables_slim_copies_give_the_same_card(built, tmp_path):
    """The build writes each config as soon as it is encoded and keeps a slim copy for the card
    (builders/build/write.py: `Writer`): every figure and the card's metadata are the same as from
    the whole tables, and the files, their rows and `num_bytes` are those of the whole tables."""
    from builders.build.card import card_data
    from builders.build.write import Writer, write_tables

    tables, found = built
    with Writer(tmp_path / "slim") as writer:
        slim = {config: {s: writer(config, {s: t})[s] for s, t in splits.items()} for config, splits in tables.items()}
        assert writer.finish() == write_tables(tmp_path / "whole", tables)
    for rel in writer.rows:
        assert (tmp_path / "slim" / rel).read_bytes() == (tmp_path / "whole" / rel).read_bytes()
    assert writer.num_bytes == {c: {s: t.nbytes for s, t in splits.items()} for c, splits in tables.items()}
    assert sum(t.nbytes for splits in slim.values() for t in splits.values()) < sum(
        t.nbytes for splits in tables.values() for t in splits.values()
    )
    assert figures(slim, Counter(), "1.1.0", "abc", AGREEMENT) == found
    assert card_data("P", slim, writer.num_bytes).to_dict() == card_data("P", tables).to_dict()
