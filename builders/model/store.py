"""A trained baseline on disk: `MODEL_FOLDER/VERSION/{model.skops, card.json}`.

The estimators are saved with `skops` (no pickle): loading trusts skops' own safe types
and exactly the types in `TRUSTED`, so a file holding any other type is refused before
anything in it runs. `card.json` is the model card: training-data hash, guideline and
schema versions, library versions, seed, evaluation figures and the sha256 of
model.skops. `model_version` is `baseline-` and 8 hex digits of the hash of everything
that decides the model (not the figures, which follow from it).
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from builders.errors import fail
from builders.model.data import MODEL_PREFIX, TrainingData
from builders.model.train import Fitted
from builders.schema import SCHEMA_VERSION

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"
CARD_FORMAT = 2  # 2: shared vectorisers, cue columns, tuned detection threshold
LIBRARIES = ("scikit-learn", "skops", "blingfire", "numpy", "scipy")
# Types of a baseline that skops does not trust by default: none (its scikit-learn parts it
# does), so a file holding any untrusted type is refused.
TRUSTED: list[str] = []


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        versions[name] = metadata.version(name)
    return versions


def decided_by(data: TrainingData, seed: int) -> dict:
    """Everything that decides a model trained on `data` (its version is their hash)."""
    return {
        "training_data_sha256": data.sha256,
        "guideline_version": data.guideline_version,
        "schema_version": SCHEMA_VERSION,
        "libraries": library_versions(),
        "seed": seed,
        "card_format": CARD_FORMAT,
    }


def model_version_of(decided: dict) -> str:
    return f"{MODEL_PREFIX}{hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()[:8]}"


def make_card(data: TrainingData, seed: int, evaluation: dict) -> dict:
    decided = decided_by(data, seed)
    return {
        "model_version": model_version_of(decided),
        **decided,
        "training_source": data.source,
        "training_articles": len(data.articles),
        "training_claims": len(data.claims),
        "left_out_articles": data.left_out,
        "evaluation": evaluation,
    }


def save(fitted: Fitted, card: dict, out: Path) -> Path:
    """Write the model folder whole (a temporary folder renamed into place)."""
    import skops.io as sio

    target = out / card["model_version"]
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{card['model_version']}.", dir=out))
    try:
        # skops writes vocabularies as JSON: compressed, a tenth of the size
        sio.dump(fitted.estimators, stage / MODEL_FILE, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        unexpected = sorted(set(sio.get_untrusted_types(file=stage / MODEL_FILE)) - set(TRUSTED))
        if unexpected:  # a change to features.py must extend TRUSTED on purpose
            raise RuntimeError(f"the model holds types store.TRUSTED does not list: {unexpected}")
        card = {**card, "model_sha256": hashlib.sha256((stage / MODEL_FILE).read_bytes()).hexdigest()}
        (stage / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        stage.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)  # same version = same inputs: the old folder holds the same model
        stage.rename(target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return target


def _major(version: str) -> str:
    return str(version).split(".", 1)[0]


def read_card(folder: Path) -> dict:
    path = folder / CARD_FILE
    fix = "train one with `khc model train` and pass its folder, e.g. --model models/baseline-1a2b3c4d"
    if not folder.is_dir():
        fail("there is no model folder here", file=str(folder), fix=fix)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"not a readable model card: {exc}", file=str(path), fix=fix)
    if not isinstance(card, dict) or not str(card.get("model_version", "")).startswith(MODEL_PREFIX):
        fail("not a card of a khc baseline model (no baseline-… model_version)", file=str(path), fix=fix)
    return card


def load(folder: Path, guideline_version: str) -> tuple[Fitted, dict]:
    """The model and its card; refuses another schema or guideline major version and any
    file that is not what the card describes or holds an unexpected type."""
    import skops.io as sio

    card = read_card(folder)
    path = folder / MODEL_FILE
    retrain = "retrain it under the current schema and guidelines: khc model train"
    if card.get("card_format") != CARD_FORMAT:
        fail(
            f"the model is of format {card.get('card_format')}, this khc reads format {CARD_FORMAT}",
            file=str(folder / CARD_FILE),
            fix=retrain,
        )
    if str(card.get("schema_version")) != SCHEMA_VERSION:
        fail(
            f"the model was trained under schema v{card.get('schema_version')}, the project is at v{SCHEMA_VERSION}",
            file=str(folder / CARD_FILE),
            fix=retrain,
        )
    if _major(card.get("guideline_version", "")) != _major(guideline_version):
        fail(
            f"the model was trained under guidelines {card.get('guideline_version')}, "
            f"the project's are {guideline_version} (another major version)",
            file=str(folder / CARD_FILE),
            fix=retrain,
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read the model: {exc}", file=str(path), fix=retrain)
    if hashlib.sha256(raw).hexdigest() != card.get("model_sha256"):
        fail("the model file is not the one its card describes (corrupt or replaced)", file=str(path), fix=retrain)
    try:
        estimators = sio.loads(raw, trusted=TRUSTED)
    except Exception as exc:  # skops raises several kinds for a foreign or damaged file
        fail(f"refused to load the model: {type(exc).__name__}: {exc}", file=str(path), fix=retrain)
    if not isinstance(estimators, dict) or "detect" not in estimators:
        fail("the file does not hold a khc baseline's estimators", file=str(path), fix=retrain)
    return Fitted(estimators), card
