"""The labels a baseline learns from: the current build's `claims` and `articles` configs.

`dist/` is read when its manifest's input hashes match the project's inputs now; otherwise
(missing, or built from other inputs) the build runs into a temporary folder that is
removed afterwards, so `dist/` is never touched. Only train and validation articles are
used: the test split stays held out. Articles whose labels were decided by this baseline's
own predictions (`model/baseline-…`) are left out, so a model never learns from itself.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import ClassLabel, List

from builders.corpus.records import sha256_file
from builders.errors import fail
from builders.features import FEATURES
from builders.layout import SPLITS, parquet_path
from builders.model import EVALUATION_FILE
from builders.project import Project
from builders.schema import ARTICLE_FAMILIES, CLAIM_TYPE, EVIDENCE, RISK_DISCLOSURES

MODEL_PREFIX = "baseline-"  # model_version of every model this package trains
TRAINING_SPLITS = ("train", "validation")
UNDECIDED = f"{RISK_DISCLOSURES.name}_undecided"  # items the annotators split evenly on: not learnt
ARTICLE_COLUMNS = [
    "article_id",
    "text",
    "split",
    "origin",
    "annotators",
    *(f.name for f in ARTICLE_FAMILIES),
    UNDECIDED,
    "n_annotators",
    "n_accepted_unchanged",
    "fold",  # the committed cross-validation fold (corpus/folds.csv)
]
CLAIM_COLUMNS = [
    "article_id",
    "start",
    "end",
    "text",
    CLAIM_TYPE.name,
    EVIDENCE.name,
    "origin",
    "n_annotators",
    "n_marked",
    "n_accepted_unchanged",
]


@dataclass
class TrainingData:
    articles: pd.DataFrame  # labelled train/validation articles, one row each
    claims: pd.DataFrame  # their aggregated claims
    guideline_version: str
    source: str  # where the labels were read: "dist/" or "a fresh build in a temporary folder"
    left_out: dict[str, int]  # articles not used, by reason

    @property
    def sha256(self) -> str:
        """Content hash of exactly what is learnt from (not of Parquet bytes)."""
        digest = hashlib.sha256()
        for row in self.articles.sort_values("article_id").itertuples(index=False):
            record = {c: getattr(row, c) for c in ARTICLE_COLUMNS if c not in ("text", "annotators", "fold")}
            record["fold"] = None if pd.isna(row.fold) else int(row.fold)  # it decides the evaluation
            record["text_sha256"] = hashlib.sha256(row.text.encode()).hexdigest()
            digest.update(json.dumps(record, sort_keys=True, default=list).encode() + b"\n")
        for row in self.claims.sort_values(["article_id", "start", "end"]).itertuples(index=False):
            fields = [row.article_id, row.start, row.end, row.claim_type, row.evidence]
            # whether people only accepted a prediction decides the evaluation's reference (evaluate.py)
            fields += [int(row.n_annotators), int(row.n_marked), int(row.n_accepted_unchanged)]
            digest.update(json.dumps(fields).encode())
        return digest.hexdigest()


def _decode(frame: pd.DataFrame, config: str) -> pd.DataFrame:
    """ClassLabel integers → their names, as the schema declares them."""
    for name, feature in FEATURES[config].items():
        if name not in frame:
            continue
        if isinstance(feature, ClassLabel):
            names = feature.names
            frame[name] = frame[name].map(lambda v, n=names: None if pd.isna(v) else n[int(v)])
        elif isinstance(feature, List) and isinstance(feature.feature, ClassLabel):
            names = feature.feature.names
            frame[name] = frame[name].map(lambda v, n=names: [] if v is None else [n[int(i)] for i in v])
    return frame


def read_config(folder: Path, config: str) -> pd.DataFrame:
    tables = {}
    for split in SPLITS:
        path = folder / parquet_path(config, split)
        if path.is_file():
            tables[split] = pq.read_table(path)
    return frame_of(tables, config)


def frame_of(tables: dict[str, pa.Table], config: str) -> pd.DataFrame:
    """One config's split tables (as written, or as the build holds them) as one decoded frame."""
    frames = [table.to_pandas().assign(split=split) for split, table in tables.items() if table.num_rows]
    if not frames:
        return pd.DataFrame(columns=[*FEATURES[config], "split"])
    return _decode(pd.concat(frames, ignore_index=True), config)


def is_current(project: Project, folder: Path) -> bool:
    """True when `folder` holds a build of exactly the project's present inputs."""
    from builders.build.pipeline import _input_files  # the build's own list of what it reads

    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))["inputs"]
    except (OSError, ValueError, KeyError):
        return False
    # the evaluation file feeds only the card, not the labels: writing it leaves dist/'s labels current
    present = {project.rel(p): sha256_file(p) for p in _input_files(project)}
    recorded.pop(EVALUATION_FILE, None)
    present.pop(EVALUATION_FILE, None)
    return recorded == present


def load_training(project: Project) -> TrainingData:
    if is_current(project, project.default_out):
        return _from_folder(project.default_out, "dist/")
    from builders.build.pipeline import build

    with tempfile.TemporaryDirectory(prefix="khc-model-") as tmp:
        build(project, Path(tmp) / "dist", helper=False)
        return _from_folder(Path(tmp) / "dist", "a fresh build in a temporary folder (dist/ is missing or stale)")


def _from_folder(folder: Path, source: str) -> TrainingData:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    articles = read_config(folder, "articles")
    claims = read_config(folder, "claims")
    return training_data(articles, claims, manifest["guideline_version"], source)


def from_tables(tables: dict[str, dict[str, pa.Table]], guideline_version: str) -> TrainingData:
    """What a baseline would learn from the build's tables in memory (the card's staleness check)."""
    articles, claims = frame_of(tables["articles"], "articles"), frame_of(tables["claims"], "claims")
    return training_data(articles, claims, guideline_version, "this build")


def training_data(articles: pd.DataFrame, claims: pd.DataFrame, guideline_version: str, source: str) -> TrainingData:
    left_out = {
        "test split (held out)": int((articles["split"] == "test").sum()),
        "not labelled": int((~articles["labeled"].astype(bool) & (articles["split"] != "test")).sum()),
    }
    chosen = articles[articles["labeled"].astype(bool) & articles["split"].isin(TRAINING_SPLITS)]
    own = chosen["annotators"].map(lambda names: any(str(n).startswith(f"model/{MODEL_PREFIX}") for n in names))
    own = own.astype(bool).to_numpy()  # (an empty object Series would select columns)
    left_out["decided by this baseline's own predictions"] = int(own.sum())
    chosen = chosen[~own]
    chosen = chosen.assign(
        **{
            RISK_DISCLOSURES.name: chosen[RISK_DISCLOSURES.name].map(
                lambda v: sorted(v, key=RISK_DISCLOSURES.names.index)
            )
        }
    )
    kept = claims[claims["article_id"].isin(set(chosen["article_id"]))]
    return TrainingData(
        articles=chosen[ARTICLE_COLUMNS].sort_values("article_id", ignore_index=True),
        claims=kept[CLAIM_COLUMNS].sort_values(["article_id", "start", "end"], ignore_index=True),
        guideline_version=guideline_version,
        source=source,
        left_out=left_out,
    )


def require_labels(data: TrainingData, shown: str) -> None:
    if data.articles.empty:
        fail(
            "there are no labelled train or validation articles to learn from",
            file=shown,
            fix="label articles in Label Studio (khc ls push, then khc ls pull) or write pre-annotations, then rerun",
        )
