"""`khc build` on the fixture project: loadable output, known aggregation answers, determinism.

The known answers are worked out by hand from tests/fixtures/make_exports.py.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
import yaml
from datasets import load_dataset

from builders.features import FEATURES
from builders.layout import SPLITS
from builders.project import load_project
from builders.schema import FAMILIES
from tests.conftest import ARTICLE_PROSE, copy_project, khc, load_export, save_export, tree_digest


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("fixture") / "project")
    assert khc("build", root=root)[0] == 0
    return root


def rows(built: Path, config: str) -> dict[str, list[dict]]:
    ds = load_dataset(str(built / "dist"), config)
    return {split: list(ds[split]) for split in ds}


def card_yaml(built: Path) -> dict:
    text = (built / "dist" / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.mark.parametrize("config", ["claims", "articles", "annotations"])
def test_configs_load_with_schema_classlabels_and_card_counts(built, config):
    ds = load_dataset(str(built / "dist"), config)
    assert list(ds) == list(SPLITS)
    for family in FAMILIES:
        if family.name in FEATURES[config]:
            feature = ds["train"].features[family.name]
            assert getattr(feature, "feature", feature).names == family.names
    info = next(i for i in card_yaml(built)["dataset_info"] if i["config_name"] == config)
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == {s: len(ds[s]) for s in ds}
    # The figures table in the card body says the same.
    body = (built / "dist" / "README.md").read_text(encoding="utf-8")
    line = next(row for row in body.splitlines() if row.startswith(f"| {config} |"))
    assert (
        line
        == f"| {config} | " + " | ".join(str(len(ds[s])) for s in SPLITS) + f" | {sum(len(ds[s]) for s in SPLITS)} |"
    )


def test_no_article_in_two_splits(built):
    for config in ("claims", "articles", "annotations"):
        seen: dict[str, str] = {}
        for split, items in rows(built, config).items():
            for row in items:
                assert seen.setdefault(row["article_id"], split) == split, (config, row["article_id"])


def test_splits_follow_the_committed_split_file(built):
    recorded = dict(line.split(",") for line in (built / "corpus" / "splits.csv").read_text().split()[1:])
    for split, items in rows(built, "articles").items():
        assert {r["article_id"] for r in items} == {a for a, s in recorded.items() if s == split}


def claims_by_article(built: Path) -> dict[str, list[dict]]:
    ds = load_dataset(str(built / "dist"), "claims")
    names = {f: ds["train"].features[f].names for f in ("claim_type", "evidence", "origin", "aggregation")}
    found: dict[str, list[dict]] = {}
    for split in ds:
        for row in ds[split]:
            for field, labels in names.items():
                row[field] = None if row[field] is None else labels[row[field]]
            found.setdefault(row["article_id"], []).append(row)
    return found


def test_human_majority_with_unmatched_span_and_ties(built):
    claims = {c["text"][:40]: c for c in claims_by_article(built)["khc-000001"]}
    assert len(claims) == 4  # S4 was marked by one annotator of three: unmatched, not a claim
    background = claims["Attention deficit hyperactivity disorder"]
    assert (background["claim_type"], background["evidence"], background["origin"]) == ("background", "none", "human")
    assert background["aggregation"] == "human_majority" and background["n_marked"] == 3
    study = claims["A recent study published in the Journal "]  # two of three used the long offsets
    assert (study["claim_type"], study["evidence"]) == ("efficacy", "specific_unverifiable")
    recommendation = claims["Talk to your healthcare provider about w"]
    assert (recommendation["claim_type"], recommendation["n_marked"]) == ("recommendation", 2)
    tie = claims["ketamine therapy appears to work quickly"]
    assert tie["claim_type"] is None and tie["evidence"] == "none"
    assert sorted(tie["annotators"]) == ["ann-a", "ann-b", "ann-c"]
    report = json.loads((built / "dist" / "build_report.json").read_text())
    assert report["unmatched_spans"][0]["spans"][0]["annotator"] == "ann-c"


def test_ground_truth_outranks_other_humans(built):
    claims = claims_by_article(built)["khc-000002"]
    assert {(c["claim_type"], c["evidence"], c["aggregation"]) for c in claims} == {
        ("mechanism", "none", "ground_truth"),
        ("safety", "none", "ground_truth"),
    }
    assert all(c["annotators"] == ["ann-a"] for c in claims)


def test_model_labels_decide_only_unannotated_articles(built):
    claims = claims_by_article(built)
    assert {(c["origin"], c["aggregation"]) for c in claims["khc-000003"]} == {("model", "model")}
    assert {c["annotators"][0] for c in claims["khc-000003"]} == {"model/fixture-model-v1"}
    # khc-000001 also has a prediction, but humans annotated it: no claim there is a model's.
    assert {c["origin"] for c in claims["khc-000001"]} == {"human"}


def test_evidence_tie_and_crlf_repair(built):
    claims = {c["text"][:30]: c for c in claims_by_article(built)["khc-000004"]}
    assert claims["Ketamine therapy works by bloc"]["evidence"] is None  # none vs vague_appeal
    assert claims["Ketamine therapy involves the "]["claim_type"] == "procedure"
    manifest = json.loads((built / "dist" / "manifest.json").read_text())
    assert manifest["counts"]["span_repaired_crlf_offsets"] == 6
    assert manifest["counts"]["evidence_ties"] == 1


def test_article_level_aggregation(built):
    ds = load_dataset(str(built / "dist"), "articles")
    features = ds["train"].features
    risk = features["risk_disclosures"].feature.names
    by_id = {r["article_id"]: r for split in ds for r in ds[split]}
    a1 = by_id["khc-000001"]
    assert [risk[i] for i in a1["risk_disclosures"]] == ["medical_supervision", "evidence_limitations"]
    assert features["harms_explained"].names[a1["harms_explained"]] == "not_satisfactory"
    assert a1["evidence_explained"] is None  # not_satisfactory / satisfactory / not_applicable
    a4 = by_id["khc-000004"]
    assert [risk[i] for i in a4["risk_disclosures"]] == ["side_effects"]
    assert [risk[i] for i in a4["risk_disclosures_undecided"]] == ["long_term_unknowns"]
    a2 = by_id["khc-000002"]
    assert features["aggregation"].names[a2["aggregation"]] == "ground_truth"
    assert len(a2["risk_disclosures"]) == 5
    assert all(r["labeled"] for r in by_id.values()) and by_id["khc-000002"]["n_claims"] == 2


def test_annotations_config_keeps_every_raw_label(built):
    ds = load_dataset(str(built / "dist"), "annotations")
    origin = ds["train"].features["origin"].names
    units = [r for split in ds for r in ds[split]]
    humans = sorted((r["article_id"], r["annotator"]) for r in units if origin[r["origin"]] == "human")
    assert len(humans) == 8  # nine in the export, one cancelled
    assert ("khc-000001", "ann-d") not in humans
    models = [r for r in units if origin[r["origin"]] == "model"]
    assert {(r["article_id"], r["model_version"]) for r in models} == {
        ("khc-000001", "fixture-model-v1"),
        ("khc-000003", "fixture-model-v1"),
    }
    assert all(r["guideline_version"] == "1.0.0" for r in units)
    a = next(r for r in units if r["ls_annotation_id"] == 1)
    assert a["ls_task_id"] == 101 and a["ls_project_id"] == 7 and len(a["spans"]) == 4
    assert a["source"] == "label-studio:project-7/task-101"  # the task, not the snapshot file it was read from


def test_every_label_value_occurs_in_the_fixture_output(built):
    """The fixture is meant to exercise every value: keep it that way when editing it."""
    used: dict[str, set] = {f.name: set() for f in FAMILIES}
    for config in ("claims", "articles"):
        ds = load_dataset(str(built / "dist"), config)
        for split in ds:
            for row in ds[split]:
                for family in FAMILIES:
                    value = row.get(family.name)
                    for v in value if isinstance(value, list) else [value]:
                        if v is not None:
                            used[family.name].add(family.names[v])
    assert used == {f.name: set(f.names) for f in FAMILIES}


def test_manifest_hashes_inputs_and_outputs(built):
    manifest = json.loads((built / "dist" / "manifest.json").read_text())
    digests = tree_digest(built / "dist")
    assert {k: v["sha256"] for k, v in manifest["outputs"].items()} == {
        k: v for k, v in digests.items() if k != "manifest.json"
    }
    assert "annotations/exports/project-7-20261101T120000.json" in manifest["inputs"]
    assert "corpus/articles.jsonl" in manifest["inputs"]
    assert manifest["outputs"]["claims/train-00000-of-00001.parquet"]["rows"] == 10
    assert manifest["tools"]["pyarrow"]
    assert manifest["guideline_version"] == load_project(built).guideline_version()


def test_two_builds_are_byte_identical(built, tmp_path):
    assert khc("build", "--out", str(tmp_path / "again"), root=built)[0] == 0
    assert tree_digest(tmp_path / "again") == tree_digest(built / "dist")


def test_a_new_article_gets_a_split_and_old_ones_never_move(tmp_path, capsys):
    root = copy_project(tmp_path / "p", with_fixture_labels=False)
    before = (root / "corpus" / "splits.csv").read_text()
    article = tmp_path / "new-article.txt"
    article.write_text("Ketamine nasal spray is approved for depression.\n" + ARTICLE_PROSE, encoding="utf-8")
    assert khc("ingest", str(article), root=root, capsys=capsys)[0] == 0
    after = (root / "corpus" / "splits.csv").read_text()
    assert after.startswith(before) and after.count("\n") == before.count("\n") + 1
    assert after.splitlines()[-1].startswith("khc-000006,")


def test_reading_spans_in_small_chunks_gives_the_same_bytes(built, tmp_path, monkeypatch):
    monkeypatch.setattr("builders.build.labels.SPAN_CHUNK", 5)  # the fixture's 28 spans in several chunks
    assert khc("build", "--out", str(tmp_path / "chunked"), root=built)[0] == 0
    assert tree_digest(tmp_path / "chunked") == tree_digest(built / "dist")


def test_agreement_and_input_hashes_in_a_helper_process_give_the_same_bytes(built, tmp_path, monkeypatch):
    monkeypatch.setattr(
        "builders.build.pipeline.PARALLEL_MIN_ARTICLES", 1
    )  # the fixture is far below the real threshold
    spawned = []
    real = multiprocessing.get_context

    def counting(method=None):
        spawned.append(method)
        return real(method)

    monkeypatch.setattr("builders.build.helper.multiprocessing.get_context", counting)
    assert khc("build", "--out", str(tmp_path / "helper"), root=built)[0] == 0
    assert spawned == ["spawn"]
    assert tree_digest(tmp_path / "helper") == tree_digest(built / "dist")
    spawned.clear()
    assert khc("build", "--single-process", "--out", str(tmp_path / "single"), root=built)[0] == 0
    assert spawned == []
    assert tree_digest(tmp_path / "single") == tree_digest(built / "dist")


def test_stage_lines_carry_counts_time_and_memory_in_the_shape_the_benchmark_reads(
    built, tmp_path, capsys, monkeypatch
):
    import importlib

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    bench = importlib.import_module("build_targets")  # the stage-line parsing bench_build.py uses
    code, _out, err = khc("build", "--out", str(tmp_path / "staged"), root=built, capsys=capsys)
    assert code == 0
    stages = [m.group("what") for m in map(bench.STAGE_LINE.match, err.splitlines()) if m]
    assert stages[0] == "5 articles in the corpus; reading the Label Studio exports"
    assert stages[1].startswith("read 8 annotations, 2 predictions and 28 spans")
    assert stages[-1] == "done"
    table = bench.stage_table(err, wall=100.0)
    assert len(table) == 2 + 1 + len(stages) and table[-1].startswith("| done | ")


def card_loading_code(dist: Path) -> str:
    """The card's Python block that loads `claims`, pointed at `dist`."""
    card = (dist / "README.md").read_text(encoding="utf-8")
    block = next(b for b in card.split("```python\n")[1:] if "load_dataset(" in b and '"claims"' in b)
    lines = [line for line in block.split("```")[0].splitlines() if "import" in line or line.startswith("claims =")]
    return "\n".join(lines).replace('"path/to/this/folder"', repr(str(dist)))


def test_the_cards_loading_code_reads_a_rebuilt_folder_anew(tmp_path):
    """`datasets` keys its cache of a local folder on the card's YAML only: a rebuild whose labels change
    but whose counts do not would load the previous build's rows. The card's own code must not."""
    root = copy_project(tmp_path / "project")
    dist = root / "dist"
    assert khc("build", root=root)[0] == 0
    before = card_yaml(root)
    found: dict = {}
    exec(card_loading_code(dist), found)  # the card's own snippet, run as a reader would
    old = [r["claim_type"] for split in SPLITS for r in found["claims"][split]]
    names = next(f for f in FAMILIES if f.name == "claim_type").names
    other = dict(zip(names, names[1:] + names[:1], strict=True))  # a permutation: counts and nulls stay
    for export in sorted((root / "annotations" / "exports").glob("*.json")):
        if export.name == "snapshots.json":
            continue
        tasks = load_export(export)
        for task in tasks:
            for annotation in task["annotations"]:
                for result in annotation["result"]:
                    if result["from_name"] == "claim_type":
                        result["value"]["labels"] = [other[n] for n in result["value"]["labels"]]
        save_export(export, tasks)
    assert khc("build", root=root)[0] == 0
    assert card_yaml(root) == before  # the case that matters: same YAML, other labels
    import pyarrow.parquet as pq

    files = [dist / "claims" / f"{split}-00000-of-00001.parquet" for split in SPLITS]
    written = [v for file in files for v in pq.read_table(file)["claim_type"].to_pylist()]
    assert written != old
    found = {}
    exec(card_loading_code(dist), found)
    assert [r["claim_type"] for split in SPLITS for r in found["claims"][split]] == written
