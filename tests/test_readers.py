"""Every config loads as a researcher would load it: with `datasets` (verification_mode
"all_checks", which checks the card's split sizes) from the built folder and from a copy in Hub
layout (exactly the files `khc publish` would upload, see builders/release/publish.py), and with
DuckDB and Polars through the data files the card's YAML declares. Each reader gives the rows
pyarrow reads from the Parquet file: the same count and the same content digest."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard

from builders.layout import CONFIGS
from builders.release.publish import upload_files
from tests.conftest import REPO, copy_project, khc


def digest(rows: list[dict]) -> str:
    """sha256 of the rows in order, each a JSON object with sorted keys (every reader's values are
    plain Python values: ints, floats, strings, lists, dicts, None)."""
    text = json.dumps(rows, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """The committed project built (with its pre-annotations, so every config has rows), and a copy
    of the files `khc publish` would upload, at their paths in the Hub repo."""
    base = tmp_path_factory.mktemp("readers")
    root = copy_project(base / "p", with_fixture_labels=False)
    shutil.copytree(REPO / "annotations" / "predictions", root / "annotations" / "predictions")
    assert khc("build", root=root)[0] == 0
    built, hub = root / "dist", base / "hub"
    for path, _size, _sha in upload_files(built):
        (hub / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built / path, hub / path)
    return {"built": built, "hub": hub}


def declared_files(folder: Path) -> dict[str, dict[str, Path]]:
    """{config: {split: Parquet file}} as the card's YAML `configs` declares them."""
    card = DatasetCard.load(folder / "README.md")
    return {
        c["config_name"]: {f["split"]: folder / f["path"] for f in c["data_files"]}
        for c in card.data.to_dict()["configs"]
    }


def test_the_hub_copy_needs_no_file_the_upload_leaves_out(folders):
    declared = declared_files(folders["hub"])
    assert set(declared) == set(CONFIGS)
    for splits in declared.values():
        for path in splits.values():
            assert path.is_file(), path


@pytest.mark.parametrize("where", ["built", "hub"])
@pytest.mark.parametrize("config", CONFIGS)
def test_load_dataset_with_all_checks_gives_pyarrows_rows(folders, where, config, tmp_path):
    folder = folders[where]
    ds = load_dataset(str(folder), config, verification_mode="all_checks", cache_dir=str(tmp_path / "hf"))
    files = declared_files(folder)[config]
    assert set(ds) == set(files)
    for split, path in files.items():
        table = pq.read_table(path)
        assert ds[split].num_rows == table.num_rows > 0
        assert digest(ds[split].to_list()) == digest(table.to_pylist()), (where, config, split)


@pytest.mark.parametrize("where", ["built", "hub"])
@pytest.mark.parametrize("config", CONFIGS)
def test_duckdb_and_polars_read_pyarrows_rows(folders, where, config):
    for split, path in declared_files(folders[where])[config].items():
        expected = pq.read_table(path).to_pylist()
        with duckdb.connect() as con:  # in memory; insertion order is kept by default
            rows = con.sql("SELECT * FROM read_parquet($path)", params={"path": str(path)})
            count = con.sql("SELECT count(*) FROM read_parquet($path)", params={"path": str(path)}).fetchall()[0][0]
            by_duckdb = rows.to_arrow_table().to_pylist()
        by_polars = pl.read_parquet(path).to_dicts()
        assert count == len(by_duckdb) == len(by_polars) == len(expected), (where, config, split)
        assert digest(by_duckdb) == digest(expected), ("duckdb", where, config, split)
        assert digest(by_polars) == digest(expected), ("polars", where, config, split)
