"""The project folder: where things live and the settings in `khc.toml`.

`khc` finds the project like git finds a repository: the nearest folder at or above the
working directory that holds `khc.toml` (or the folder given with `--root`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from builders.errors import fail

MARKER = "khc.toml"


@dataclass(frozen=True)
class SplitSettings:
    seed: str = "khc-splits-v1"
    ratios: dict[str, float] = field(default_factory=lambda: {"train": 0.6, "validation": 0.2, "test": 0.2})


@dataclass(frozen=True)
class LabelStudioSettings:
    """`[labelstudio]` in khc.toml: which Label Studio projects and which model version belong
    to the dataset."""

    # The projects whose snapshots belong to the dataset; a snapshot of any other is refused.
    projects: tuple[int, ...] = ()
    # The model versions whose predictions are aggregated, in order of preference: an article's
    # model labels come from the first listed version that has a prediction for it. Empty: every
    # version found. (`model_version = "v2"` in khc.toml is a list of one.)
    model_versions: tuple[str, ...] = ()

    @property
    def model_version(self) -> str | None:
        """The preferred (current) model version, or None when none is declared."""
        return self.model_versions[0] if self.model_versions else None


@dataclass(frozen=True)
class PredictionPolicy:
    """Which articles `khc ls push` sends with their pre-annotations (`[labelstudio.predictions]`).

    A share of the articles is pushed without any prediction, chosen by sha256(seed + article_id)
    so an article stays in its group as the corpus grows; labels made on those tasks cannot be
    anchored on the model, which lets agreement be compared with and without it.
    """

    without_share: float = 0.2
    seed: str = "khc-predictions-v1"

    def withheld(self, article_id: str) -> bool:
        digest = hashlib.sha256(f"{self.seed}:{article_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.without_share


@dataclass(frozen=True)
class AnnotationProjectSettings:
    """Label Studio project settings `khc ls push` sets (`[labelstudio.project]`); not labels.

    Field names are Label Studio's own. The defaults make agreement possible: every task goes
    to two distinct annotators, overlapping tasks first; the instructions open in the label
    stream; the label stream pre-fills from the prediction (where the task has one); an empty
    submission is refused by the front end (the reader still treats an empty result as no answer).
    """

    maximum_annotations: int = 2
    overlap_cohort_percentage: int = 100
    show_overlap_first: bool = True
    show_instruction: bool = True
    show_collab_predictions: bool = True
    enable_empty_annotation: bool = False
    predictions: PredictionPolicy = field(default_factory=PredictionPolicy)

    def project_fields(self) -> dict[str, bool | int]:
        """The settings as keyword arguments of `projects.create` / `projects.update`."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "predictions"}


@dataclass(frozen=True)
class Project:
    root: Path
    name: str = "ketamine-health-claims"
    pretty_name: str = "Ketamine Health Claims"
    # The Hugging Face dataset repo; None until the project has one (no Hub link anywhere then).
    repo_id: str | None = None
    splits: SplitSettings = field(default_factory=SplitSettings)
    labelstudio: LabelStudioSettings = field(default_factory=LabelStudioSettings)
    annotation: AnnotationProjectSettings = field(default_factory=AnnotationProjectSettings)

    @property
    def corpus_file(self) -> Path:
        return self.root / "corpus" / "articles.jsonl"

    @property
    def sources_dir(self) -> Path:
        return self.root / "corpus" / "sources"

    @property
    def split_file(self) -> Path:
        return self.root / "corpus" / "splits.csv"

    @property
    def fold_file(self) -> Path:
        return self.root / "corpus" / "folds.csv"

    @property
    def exports_dir(self) -> Path:
        return self.root / "annotations" / "exports"

    @property
    def predictions_dir(self) -> Path:
        return self.root / "annotations" / "predictions"

    @property
    def guidelines_file(self) -> Path:
        return self.root / "annotations" / "guidelines.md"

    @property
    def labeling_config_file(self) -> Path:
        return self.root / "annotations" / "labeling_config.xml"

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def datacard_file(self) -> Path:
        return self.root / "datacard.md"

    @property
    def default_out(self) -> Path:
        return self.root / "dist"

    def rel(self, path: Path) -> str:
        """A path as shown in messages and the manifest: relative to the project root. Links are
        not followed: a link's own name is shown, never where it points (which may be a home
        folder, and must not reach a published file)."""
        try:
            return Path(os.path.normpath(path.absolute())).relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def guideline_version(self) -> str:
        return read_guideline_version(self.guidelines_file, self.rel(self.guidelines_file))


_VERSION_LINE = re.compile(r"^Guideline version:\s*`?([0-9]+\.[0-9]+\.[0-9]+)`?\s*$", re.M)


def read_guideline_version(path: Path, shown: str) -> str:
    if not path.exists():
        fail("the annotation guidelines are missing", file=shown, fix="restore it from git")
    match = _VERSION_LINE.search(path.read_text(encoding="utf-8"))
    if not match:
        fail(
            "no 'Guideline version: X.Y.Z' line",
            file=shown,
            fix="add the line near the top; bump it whenever a rule changes",
        )
    return match.group(1)


def find_root(start: Path) -> Path:
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / MARKER).is_file():
            return folder
    fail(
        f"no {MARKER} here or in any folder above",
        file=str(start),
        fix="run khc inside a ketamine-health-claims checkout, or pass --root DIR",
    )


_KIND = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _typed(value: object, expected: type, key: str, marker: Path) -> None:
    # bool is an int in Python: a setting that wants a number must not accept `true`
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        fail(
            f"{key} must be {_KIND[expected]}, got {value!r}",
            file=str(marker),
            fix="see the comments in khc.toml",
        )


def _annotation_project_settings(section: dict, marker: Path) -> AnnotationProjectSettings:
    default = AnnotationProjectSettings()
    chosen = section.get("project", {})
    known = default.project_fields()
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        fail(
            f"[labelstudio.project] has unknown settings {unknown}",
            file=str(marker),
            fix=f"khc sets only these: {', '.join(known)}",
        )
    for key, value in chosen.items():
        _typed(value, type(known[key]), f"[labelstudio.project] {key}", marker)
    if chosen.get("maximum_annotations", 1) < 1 or not 0 <= chosen.get("overlap_cohort_percentage", 0) <= 100:
        fail(
            "[labelstudio.project] maximum_annotations must be at least 1, overlap_cohort_percentage 0 to 100",
            file=str(marker),
            fix="e.g. maximum_annotations = 2, overlap_cohort_percentage = 100",
        )
    policy = section.get("predictions", {})
    unknown = sorted(set(policy) - {"without_share", "seed"})
    if unknown:
        fail(
            f"[labelstudio.predictions] has unknown settings {unknown}", file=str(marker), fix="use without_share, seed"
        )
    share = policy.get("without_share", default.predictions.without_share)
    seed = policy.get("seed", default.predictions.seed)
    _typed(seed, str, "[labelstudio.predictions] seed", marker)
    if isinstance(share, int) and not isinstance(share, bool):
        share = float(share)
    _typed(share, float, "[labelstudio.predictions] without_share", marker)
    if not 0 <= share <= 1:
        fail(
            f"[labelstudio.predictions] without_share must be between 0 and 1, got {share}",
            file=str(marker),
            fix="e.g. without_share = 0.2 (a fifth of the articles pushed without predictions)",
        )
    return AnnotationProjectSettings(**chosen, predictions=PredictionPolicy(without_share=share, seed=seed))


def load_project(root: Path | None = None) -> Project:
    root = find_root(root or Path.cwd()) if root is None else root.resolve()
    marker = root / MARKER
    if not marker.is_file():
        fail(f"not a khc project: no {MARKER}", file=str(root), fix="pass the project folder to --root")
    try:
        settings = tomllib.loads(marker.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        fail(f"not valid TOML: {exc}", file=str(marker), fix="fix the syntax")
    dataset = settings.get("dataset", {})
    split = settings.get("splits", {})
    ratios = split.get("ratios", SplitSettings().ratios)
    if set(ratios) != {"train", "validation", "test"} or abs(sum(ratios.values()) - 1) > 1e-9:
        fail(
            "[splits] ratios must name train, validation and test and add up to 1",
            file=str(marker),
            fix="e.g. ratios = { train = 0.6, validation = 0.2, test = 0.2 }",
        )
    return Project(
        root=root,
        labelstudio=_labelstudio_settings(settings.get("labelstudio", {}), str(marker)),
        name=dataset.get("name", Project.name),
        pretty_name=dataset.get("pretty_name", Project.pretty_name),
        repo_id=_repo_id(dataset.get("repo_id"), str(marker)),
        splits=SplitSettings(seed=split.get("seed", SplitSettings.seed), ratios=dict(ratios)),
        annotation=_annotation_project_settings(settings.get("labelstudio", {}), marker),
    )


def _repo_id(value: object, shown: str) -> str | None:
    """`[dataset] repo_id`: unset, empty or the old "ORG/..." placeholder all mean no Hub repo."""
    if value is None or value == "" or (isinstance(value, str) and value.startswith("ORG/")):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[\w.-]+/[\w.-]+", value):
        fail(
            f"[dataset] repo_id must be OWNER/NAME, got {value!r}",
            file=shown,
            fix='e.g. repo_id = "my-org/ketamine-health-claims", or leave it out until a Hub repo exists',
        )
    return value


def _labelstudio_settings(section: dict, shown: str) -> LabelStudioSettings:
    projects = section.get("projects", [])
    if not isinstance(projects, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in projects):
        fail(
            "[labelstudio] projects must be a list of Label Studio project ids",
            file=shown,
            fix="e.g. projects = [7]",
        )
    declared = section.get("model_version", [])
    versions = [declared] if isinstance(declared, str) else declared
    if not isinstance(versions, list) or not all(isinstance(v, str) and v for v in versions):
        fail(
            "[labelstudio] model_version must be a model version or a list of them (in order of preference)",
            file=shown,
            fix='e.g. model_version = "maintainers-pilot-v2", or ["maintainers-pilot-v2", "baseline-1a2b3c4d"]',
        )
    return LabelStudioSettings(projects=tuple(projects), model_versions=tuple(versions))
