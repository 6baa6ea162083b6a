"""Release metadata (builders/release/metadata.py, rai.py): Croissant's Responsible-AI fields are
computed from the build and validate with mlcroissant; `repo_id` is optional, and without it
no published file links to the Hub."""

from __future__ import annotations

import json
import re
from collections import Counter

import mlcroissant as mlc
import pyarrow.parquet as pq
import pytest
import yaml

from builders.errors import KhcError
from builders.features import FEATURES
from builders.layout import CONFIGS
from builders.project import load_project
from tests.conftest import FIXTURE_MODEL, copy_project, khc

RAI = "http://mlcommons.org/croissant/RAI/"


def set_repo_id(root, value: str | None) -> None:
    settings = root / "khc.toml"
    text = re.sub(r"(?m)^repo_id = .*\n", "", settings.read_text())
    if value is not None:
        text = text.replace("[dataset]\n", f'[dataset]\nrepo_id = "{value}"\n', 1)
    settings.write_text(text)


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("meta") / "p")
    assert khc("build", root=root)[0] == 0
    return root / "dist"


def table(dist, config, column):
    return [v for p in sorted((dist / config).glob("*.parquet")) for v in pq.read_table(p).column(column).to_pylist()]


def test_croissant_validates_and_has_the_rai_fields(dist):
    dataset = mlc.Dataset(jsonld=str(dist / "croissant.json"))  # raises on any validation error
    meta = dataset.metadata
    assert meta.creators and meta.creators[0].name
    assert meta.data_annotation_platform and meta.data_annotation_platform[0].startswith("Label Studio 1.")
    for name in (
        "data_collection",
        "data_collection_missing_data",
        "data_preprocessing_protocol",
        "data_annotation_protocol",
        "annotations_per_item",
        "machine_annotation_tools",
        "personal_sensitive_information",
        "data_biases",
        "data_limitations",
        "data_use_cases",
        "data_release_maintenance_plan",
    ):
        assert getattr(meta, name), name


def test_rai_figures_are_computed_from_the_build(dist):
    document = json.loads((dist / "croissant.json").read_text())
    manifest = json.loads((dist / "manifest.json").read_text())
    protocol = " ".join(document["rai:dataAnnotationProtocol"])
    assert manifest["guideline_version"] in protocol and manifest["labeling_config_sha256"] in protocol
    tools = document["rai:machineAnnotationTools"]
    tools = tools if isinstance(tools, list) else [tools]
    versions = {m for m in table(dist, "annotations", "model_version") if m}
    assert versions == {FIXTURE_MODEL}
    assert all(any(t.startswith(f"{v}:") for t in tools) for v in versions)
    per_article = Counter(table(dist, "annotations", "article_id"))
    n_articles = len(table(dist, "articles", "article_id"))
    origins = FEATURES["annotations"]["origin"]
    human = Counter(
        a
        for a, o in zip(table(dist, "annotations", "article_id"), table(dist, "annotations", "origin"), strict=True)
        if o == origins.str2int("human")
    )
    counts = [human[a] for a in table(dist, "articles", "article_id")]
    assert f"{min(counts)}–{max(counts)}, mean {sum(counts) / n_articles:.2f}" in document["rai:annotationsPerItem"]
    assert sum(per_article.values()) == len(table(dist, "annotations", "annotation_uid"))
    collection = document["rai:dataCollection"]
    assert f"url for {sum(u is not None for u in table(dist, 'articles', 'url'))} of {n_articles}" in collection


def test_every_field_is_described_beyond_its_name(dist):
    document = json.loads((dist / "croissant.json").read_text())
    for record_set in document["recordSet"]:
        for field in record_set["field"]:
            assert len(field["description"]) > len(field["name"]) + 10, field["@id"]
            assert "no description yet" not in field["description"], field["@id"]
    claim_type = next(
        f
        for rs in document["recordSet"]
        if rs["name"] == "claims_train"
        for f in rs["field"]
        if f["name"] == "claim_type"
    )
    assert "0=efficacy (a benefit or outcome of the treatment)" in claim_type["description"]


def test_an_unreleased_build_says_so_and_has_no_publication_date(dist):
    document = json.loads((dist / "croissant.json").read_text())
    assert "datePublished" not in document
    assert "unreleased development build" in document["rai:dataReleaseMaintenancePlan"]


def test_without_a_repo_id_no_file_links_to_the_hub(dist):
    assert load_project(dist.parent).repo_id is None  # the committed khc.toml sets none
    for name in ("README.md", "croissant.json", "CITATION.cff", "LICENSE.md"):
        text = (dist / name).read_text()
        assert "huggingface.co" not in text and "ORG/" not in text, name


@pytest.mark.parametrize("value", [None, "", "ORG/ketamine-health-claims"])
def test_unset_empty_or_placeholder_repo_id_means_none(tmp_path, value):
    root = copy_project(tmp_path / "p", with_fixture_labels=False)
    set_repo_id(root, value)
    assert load_project(root).repo_id is None


def test_a_repo_id_links_card_croissant_and_citation(tmp_path):
    root = copy_project(tmp_path / "p")
    set_repo_id(root, "khc-test/ketamine-health-claims")
    assert khc("build", root=root)[0] == 0
    url = "https://huggingface.co/datasets/khc-test/ketamine-health-claims"
    document = json.loads((root / "dist" / "croissant.json").read_text())
    assert document["url"] == url and document["license"] == f"{url}/blob/main/LICENSE.md"
    citation = yaml.safe_load((root / "dist" / "CITATION.cff").read_text())
    assert citation["url"] == url
    # An unreleased build loads from its folder; the card names the repo releases go to.
    assert "releases are on `khc-test/ketamine-health-claims`" in (root / "dist" / "README.md").read_text()


def test_a_malformed_repo_id_is_refused(tmp_path):
    root = copy_project(tmp_path / "p", with_fixture_labels=False)
    set_repo_id(root, "not a repo")
    with pytest.raises(KhcError, match="repo_id must be OWNER/NAME"):
        load_project(root)


def test_every_config_is_in_croissant(dist):
    names = {rs["name"].rsplit("_", 1)[0] for rs in json.loads((dist / "croissant.json").read_text())["recordSet"]}
    assert names == set(CONFIGS)


def test_publish_without_a_repo_id_is_refused(tmp_path, capsys):
    root = copy_project(tmp_path / "p", with_fixture_labels=False)
    code, _, err = khc("publish", "0.1.0", root=root, capsys=capsys)
    assert code == 1 and "no Hugging Face repo to publish to" in err and "--repo-id" in err
    assert err.count("khc: error:") == 1
