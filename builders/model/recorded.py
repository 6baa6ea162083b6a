"""The committed baseline evaluation: `khc model evaluate` writes it, `khc build` renders it.

Trained models are not committed (models/ is git-ignored), so the figures the card shows
live in `annotations/baseline-evaluation.json`, a reviewable file (indented, sorted keys)
that a rebuild from committed files reads years later. It records the `model_version` a
`khc model train` of the same labels gives, the training-data hash, the guideline and
schema versions, library versions, the seed and the whole evaluation report (figures with
their unit counts and the reference). The build compares the recorded training-data hash
with the hash of its own labels: when they differ the card still shows the figures but
says, first, that they are from an older state of the labels (a build never depends on
rerunning the model). Without the file the section says how to make it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa

from builders.errors import fail
from builders.files import write_whole
from builders.model.data import EVALUATION_FILE, TrainingData, from_tables
from builders.model.report import baseline_section
from builders.project import Project

FORMAT = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
FIX = "rerun `khc model evaluate` (it writes the file anew), or restore the file from git"


def evaluation_path(project: Project) -> Path:
    return project.root / EVALUATION_FILE


def make_record(data: TrainingData, seed: int, evaluation: dict) -> dict:
    """The file's content: what decides the figures, then the figures."""
    from builders.model.store import decided_by, model_version_of  # (imports scikit-learn)

    decided = decided_by(data, seed)
    return {
        "format": FORMAT,
        "written_by": "khc model evaluate",
        "model_version": model_version_of(decided),
        **{k: v for k, v in decided.items() if k != "card_format"},
        "training_articles": len(data.articles),
        "training_claims": len(data.claims),
        "left_out_articles": data.left_out,
        "evaluation": evaluation,
    }


def write_record(path: Path, record: dict) -> None:
    """Whole or not at all (files.write_whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n")


def read_record(path: Path, shown: str) -> dict | None:
    """The recorded evaluation, None when there is none; a damaged or foreign file is an error."""
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"not a readable baseline evaluation: {exc}", file=shown, fix=FIX)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        fail(f"not a baseline evaluation of format {FORMAT} (written by `khc model evaluate`)", file=shown, fix=FIX)
    evaluation = record.get("evaluation")
    problems = []
    if not str(record.get("model_version", "")).startswith("baseline-"):
        problems.append("no baseline-… model_version")
    if not _SHA256.match(str(record.get("training_data_sha256", ""))):
        problems.append("no training_data_sha256")
    if not isinstance(evaluation, dict) or not all(k in evaluation for k in ("scheme", "folds", "articles")):
        problems.append("no evaluation report (scheme, folds, articles)")
    elif not isinstance(evaluation.get("reference"), dict) or "description" not in evaluation["reference"]:
        problems.append("the evaluation names no reference")
    if problems:
        fail(f"the baseline evaluation is incomplete: {'; '.join(problems)}", file=shown, fix=FIX)
    return record


def card_section(project: Project, tables: dict[str, dict[str, pa.Table]], guideline_version: str) -> str:
    """The card's "Baseline" section for this build."""
    shown = EVALUATION_FILE
    record = read_record(evaluation_path(project), shown)
    if record is None:
        return "\n".join(
            [
                "## Baseline",
                "",
                "No baseline evaluation is recorded for this build. `khc model evaluate` cross-validates the "
                f"baseline by article on this build's labels and writes `{shown}`; commit that file and rebuild, "
                "and this section shows its figures.",
            ]
        )
    current = from_tables(tables, guideline_version).sha256
    recorded = record["training_data_sha256"]
    section = baseline_section(record["evaluation"], record["model_version"])
    heading, _, body = section.partition("\n\n")
    where = (
        f"Figures recorded in `{shown}` by `khc model evaluate` (seed {record.get('seed')}, scikit-learn "
        f"{record.get('libraries', {}).get('scikit-learn', 'unknown')}); training data sha256 `{recorded[:12]}…`."
    )
    if recorded != current:
        where = (
            f"**These figures are from an older state of the labels**: they were computed on training data "
            f"sha256 `{recorded[:12]}…`, and this build's labels hash to `{current[:12]}…`. Rerun "
            f"`khc model evaluate`, commit `{shown}` and rebuild to bring them up to date.\n\n" + where
        )
    return f"{heading}\n\n{where}\n\n{body}".rstrip("\n")
