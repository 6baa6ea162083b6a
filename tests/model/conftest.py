"""A copy of the project with its pilot pre-annotations and one baseline trained on it,
shared by the model tests (training cross-validates, so it is done once per session)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_project, khc


@dataclass
class Trained:
    root: Path
    model: Path
    card: dict


def pilot_project(dest: Path) -> Path:
    """The committed corpus and the maintainers' pre-annotations (all labels origin = model)."""
    root = copy_project(dest, with_fixture_labels=False)
    shutil.copytree(REPO / "annotations" / "predictions", root / "annotations" / "predictions")
    return root


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Trained:
    root = pilot_project(tmp_path_factory.mktemp("model") / "project")
    code, _, _ = khc("model", "train", root=root)
    assert code == 0
    (model,) = sorted((root / "models").iterdir())
    return Trained(root, model, json.loads((model / "card.json").read_text(encoding="utf-8")))
