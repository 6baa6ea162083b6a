"""Releases: refusals, rebuild-and-compare, publishing short of the network, and the
metadata validators (card YAML, Croissant, CITATION.cff) on the built folder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import mlcroissant as mlc
import pyarrow.parquet as pq
import pytest
import yaml
from datasets import load_dataset
from huggingface_hub import DatasetCard

from builders.errors import KhcError
from builders.features import FEATURES
from builders.layout import CONFIGS
from builders.project import load_project
from builders.release.content import content_hashes
from builders.release.publish import publish
from builders.release.verify import verify
from tests.conftest import ARTICLE_PROSE, REPO, khc
from tests.release.conftest import run_git

SCHEMAS = REPO / "tests" / "schemas"


def test_release_record_and_changelog(released):
    record = json.loads((released / "releases" / "0.1.0.json").read_text())
    assert record["version"] == "0.1.0" and record["date"] == "2026-11-20"
    assert record["git_commit"] == run_git(released, "rev-parse", "HEAD~1").strip()
    assert record["outputs"] == content_hashes(released / "dist")
    assert record["figures"]["claims"] == sum(
        pq.read_metadata(p).num_rows for p in (released / "dist" / "claims").glob("*.parquet")
    )
    assert record["label_changes"]["claim_type"]["added"] == record["figures"]["claims"]
    changelog = (released / "CHANGELOG.md").read_text()
    assert "## Unreleased\n\n## 0.1.0 (2026-11-20)" in changelog
    manifest = json.loads((released / "dist" / "manifest.json").read_text())
    assert manifest["version"] == "0.1.0"
    assert "Version 0.1.0." in (released / "dist" / "README.md").read_text()


def test_release_figures_count_origins_as_integers_from_the_claims_table(released):
    """The record and the CHANGELOG give the claims of each origin, counted from the `origin`
    codes of the built claims tables and decoded through the Features they were written with."""
    origin = FEATURES["claims"]["origin"]
    codes = Counter(
        code
        for path in (released / "dist" / "claims").glob("*.parquet")
        for code in pq.read_table(path, columns=["origin"]).column("origin").to_pylist()
    )
    human, model = codes[origin.str2int("human")], codes[origin.str2int("model")]
    assert model > 0  # the committed project's labels are model pre-annotations
    figures = json.loads((released / "releases" / "0.1.0.json").read_text())["figures"]
    assert type(figures["origin_model"]) is int and type(figures["origin_human"]) is int
    assert (figures["origin_human"], figures["origin_model"]) == (human, model)
    assert human + model == figures["claims"]
    changelog = (released / "CHANGELOG.md").read_text()
    section = changelog.split("## 0.1.0 ", 1)[1].split("\n## ", 1)[0]
    assert f"{figures['claims']} claims ({human} with human labels, {model} with model labels)" in section


def test_refusals(released, capsys):
    code, _, err = khc("release", "0.1.0", root=released, capsys=capsys)
    assert code == 1 and "released already" in err
    code, _, err = khc("release", "0.0.9", root=released, capsys=capsys)
    assert code == 1 and "does not come after the latest release 0.1.0" in err
    code, _, err = khc("release", "v1", root=released, capsys=capsys)
    assert code == 1 and "MAJOR.MINOR.PATCH" in err
    (released / "datacard.md").write_text("edited\n")
    code, _, err = khc("release", "0.2.0", root=released, capsys=capsys)
    assert code == 1 and "uncommitted changes" in err and "datacard.md" in err
    assert not (released / "releases" / "0.2.0.json").exists()


def test_a_release_whose_build_writes_corpus_files_is_refused_until_they_are_committed(repo, tmp_path, capsys):
    """A new article gets its fold (and, if missing, its split) from the build: the release's commit must
    hold them, or a rebuild of that commit assigns them again and need not agree."""
    article = tmp_path / "new.txt"
    article.write_text("Ketamine lifts depression within hours, a trial found.\n" + ARTICLE_PROSE, encoding="utf-8")
    code, _, err = khc("ingest", str(article), "--title", "New", root=repo, capsys=capsys)
    assert code == 0, err
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "a new article")
    changelog = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    code, _, err = khc("release", "0.1.0", root=repo, capsys=capsys)
    assert code == 1, err
    assert "corpus/folds.csv" in err and "commit" in err
    assert not (repo / "releases" / "0.1.0.json").exists()
    assert (repo / "CHANGELOG.md").read_text(encoding="utf-8") == changelog
    run_git(repo, "add", "corpus/folds.csv")  # what the build assigned is kept for the user to review
    run_git(repo, "commit", "-qm", "folds of the new article")
    code, _, err = khc("release", "0.1.0", root=repo, capsys=capsys)
    assert code == 0, err
    record = json.loads((repo / "releases" / "0.1.0.json").read_text(encoding="utf-8"))
    assert record["git_commit"] == run_git(repo, "rev-parse", "HEAD").strip()
    assert not [line for line in run_git(repo, "status", "--porcelain").splitlines() if "corpus/" in line]


def test_verify_rebuilds_from_the_recorded_commit(released, capsys):
    # Later commits change the data; verifying 0.1.0 still rebuilds the old commit.
    (released / "datacard.md").write_text((released / "datacard.md").read_text() + "\nA later note.\n")
    run_git(released, "commit", "-qam", "later")
    code, out, err = khc("verify", "0.1.0", root=released, capsys=capsys)
    assert code == 0, err
    assert "verifies" in out
    record_file = released / "releases" / "0.1.0.json"
    record = json.loads(record_file.read_text())
    record["outputs"]["claims/train-00000-of-00001.parquet"] = "table:0"
    record_file.write_text(json.dumps(record))
    assert verify(load_project(released), "0.1.0") == ["claims/train-00000-of-00001.parquet: content differs"]


def test_publish_dry_run_and_refusals(released, capsys):
    code, out, err = khc("publish", "0.1.0", "--dry-run", root=released, capsys=capsys)
    assert code == 0, err
    assert "tag v0.1.0" in out and "claims/train-00000-of-00001.parquet" in out and "sha256" in out
    assert "croissant.json" in out and "CITATION.cff" in out and "LICENSE.md" in out
    # A folder built as something else is refused.
    assert khc("build", root=released)[0] == 0  # an unreleased build (0.0.0-dev) in dist/
    code, _, err = khc("publish", "0.1.0", "--dry-run", root=released, capsys=capsys)
    assert code == 1 and "the folder is not release 0.1.0" in err and "khc verify 0.1.0 --out" in err


class FakeHub:
    """HfApi stand-in: records the calls that would cross the network."""

    def __init__(self, tags=()):
        self.tags = list(tags)
        self.calls: list[tuple] = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def list_repo_refs(self, repo_id, **kwargs):
        return SimpleNamespace(tags=[SimpleNamespace(name=t) for t in self.tags])

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        return SimpleNamespace(oid="abc123")

    def create_tag(self, repo_id, **kwargs):
        self.calls.append(("create_tag", repo_id, kwargs))


def test_publish_uploads_the_folder_then_tags_that_commit(released):
    assert khc("verify", "0.1.0", "--out", str(released / "dist"), root=released)[0] == 0
    hub = FakeHub()
    assert publish(load_project(released), "0.1.0", "org/khc", released / "dist", api=hub) == "abc123"
    names = [c[0] for c in hub.calls]
    assert names == ["create_repo", "upload_folder", "create_tag"]
    upload = hub.calls[1][1]
    assert upload["repo_id"] == "org/khc" and upload["repo_type"] == "dataset"
    assert Path(upload["folder_path"]) == released / "dist"
    assert hub.calls[2][2]["tag"] == "v0.1.0" and hub.calls[2][2]["revision"] == "abc123"
    with pytest.raises(KhcError, match=r"has a tag v0\.1\.0 already"):
        publish(load_project(released), "0.1.0", "org/khc", released / "dist", api=FakeHub(tags=["v0.1.0"]))


def test_card_metadata_uses_the_hubs_vocabularies(released):
    card = DatasetCard.load(released / "dist" / "README.md", ignore_metadata_errors=False)
    data = card.data.to_dict()
    resources = Path(__import__("datasets").__file__).parent / "utils" / "resources"
    assert set(data["language"]) <= set(json.loads((resources / "languages.json").read_text()))
    assert set(data["size_categories"]) <= set(json.loads((resources / "size_categories.json").read_text()))
    # license "other" needs a name and a file in the repo (the Hub's rule for custom licences).
    assert data["license"] == "other" and data["license_name"] and (released / "dist" / data["license_link"]).is_file()
    assert set(data["task_categories"]) <= {"text-classification", "token-classification"}
    assert {c["config_name"] for c in data["configs"]} == set(CONFIGS)


def test_citation_cff_is_valid_cff_1_2_0(released):
    schema = json.loads((SCHEMAS / "citation-cff-1.2.0.schema.json").read_text())
    citation = yaml.safe_load((released / "dist" / "CITATION.cff").read_text())
    jsonschema.validate(citation, schema)
    assert citation["version"] == "0.1.0" and str(citation["date-released"]) == "2026-11-20"


def test_croissant_loads_without_errors_and_counts_match(released):
    dataset = mlc.Dataset(jsonld=str(released / "dist" / "croissant.json"))
    assert dataset.metadata.version == "0.1.0"
    for record_set in dataset.metadata.record_sets:
        config, split = record_set.name.rsplit("_", 1)
        expected = pq.read_metadata(released / "dist" / config / f"{split}-00000-of-00001.parquet").num_rows
        assert sum(1 for _ in dataset.records(record_set.name)) == expected, record_set.name
    claim_type = next(
        f
        for rs in dataset.metadata.record_sets
        if rs.name == "claims_train"
        for f in rs.fields
        if f.name == "claim_type"
    )
    assert "0=efficacy" in claim_type.description


def test_load_dataset_at_the_release_matches_the_record(released):
    record = json.loads((released / "releases" / "0.1.0.json").read_text())
    for config in CONFIGS:
        ds = load_dataset(str(released / "dist"), config)
        for split in ds:
            rel = f"{config}/{split}-00000-of-00001.parquet"
            assert rel in record["outputs"]
            assert len(ds[split]) == pq.read_metadata(released / "dist" / rel).num_rows
    assert content_hashes(released / "dist") == record["outputs"]
