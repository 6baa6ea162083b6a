"""Release metadata written beside the data: croissant.json, CITATION.cff, LICENSE.md.

Croissant is built with mlcroissant's own classes (one RecordSet per config and split,
one Field per column, ClassLabel names in each label field's description), so the file is
what mlcroissant itself writes and reads back.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlcroissant as mlc
import pyarrow as pa
import yaml
from datasets import ClassLabel, Value

from builders.corpus.records import sha256_file
from builders.features import FEATURES
from builders.layout import CONFIGS, parquet_path, present_splits
from builders.project import Project

DESCRIPTION = (
    "Web articles that make health claims about ketamine therapy, with claim spans labelled for "
    "claim type and evidence quality and articles labelled for risk disclosures, for research on "
    "health-misinformation classifiers. Not medical advice."
)
LICENSE_TEXT = """\
# Licence of this dataset

- **Article texts** (`text` columns): public web articles whose publishers and licences are not
  recorded. Rights remain with the original publishers; no licence to redistribute them is known.
  Use them for research only and check each source's terms before any other use.
- **Labels, metadata and code**: released by the ketamine-health-claims project under the MIT
  licence (see the project's repository).
"""


def _data_type(feature) -> mlc.DataType:
    if isinstance(feature, ClassLabel):
        return mlc.DataType.INTEGER
    if isinstance(feature, Value):
        if feature.dtype == "bool":
            return mlc.DataType.BOOL
        if feature.dtype.startswith("int"):
            return mlc.DataType.INTEGER
    return mlc.DataType.TEXT


def _describe(name: str, feature) -> str:
    inner = getattr(feature, "feature", feature)
    if isinstance(inner, ClassLabel):
        labels = ", ".join(f"{i}={n}" for i, n in enumerate(inner.names))
        many = "list of " if inner is not feature else ""
        return f"{name}: {many}ClassLabel ({labels})"
    return name


def croissant(
    out: Path, project: Project, tables: dict[str, dict[str, pa.Table]], version: str, date: str | None
) -> dict:
    ctx = mlc.Context()
    files, record_sets = [], []
    for config in CONFIGS:
        for split in present_splits(tables, config):
            rel = parquet_path(config, split)
            file_id = f"{config}-{split}-parquet"
            files.append(
                mlc.FileObject(
                    ctx=ctx,
                    id=file_id,
                    name=file_id,
                    content_url=rel,
                    encoding_formats=["application/x-parquet"],
                    sha256=sha256_file(out / rel),
                )
            )
            fields = []
            for name, feature in FEATURES[config].items():
                repeated = hasattr(feature, "feature") or isinstance(feature, list)
                if isinstance(getattr(feature, "feature", None), dict):
                    continue  # nested spans: read them with `datasets`; Croissant lists the flat columns
                fields.append(
                    mlc.Field(
                        ctx=ctx,
                        id=f"{config}_{split}/{name}",
                        name=name,
                        description=_describe(name, feature),
                        data_types=[_data_type(getattr(feature, "feature", feature))],
                        is_array=repeated or None,
                        source=mlc.Source(ctx=ctx, file_object=file_id, extract=mlc.Extract(ctx=ctx, column=name)),
                    )
                )
            record_sets.append(
                mlc.RecordSet(
                    ctx=ctx,
                    id=f"{config}_{split}",
                    name=f"{config}_{split}",
                    fields=fields,
                    description=f"config {config}, split {split}",
                )
            )
    metadata = mlc.Metadata(
        ctx=ctx,
        name=project.name,
        description=DESCRIPTION,
        version=version,
        date_published=date,
        license=[f"{hub_url(project)}/blob/main/LICENSE.md"],
        url=hub_url(project),
        cite_as=citation_text(project, version),
        distribution=files,
        record_sets=record_sets,
    )
    return metadata.to_json()


def hub_url(project: Project) -> str:
    return f"https://huggingface.co/datasets/{project.repo_id}"


def citation_text(project: Project, version: str) -> str:
    return f"{project.pretty_name} ({project.name}), version {version}."


def citation_cff(project: Project, version: str, date: str | None) -> str:
    cff = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it with its version.",
        "type": "dataset",
        "title": f"{project.pretty_name}: web articles' health claims about ketamine therapy, labelled",
        "version": version,
        "authors": [{"name": "The ketamine-health-claims contributors"}],
        "abstract": DESCRIPTION,
        "keywords": ["health misinformation", "ketamine", "claim detection", "Label Studio"],
        # No SPDX `license`: the article texts are not under the labels' licence; see LICENSE.md.
        "license-url": f"{hub_url(project)}/blob/main/LICENSE.md",
    }
    if date:
        cff["date-released"] = date
    return yaml.safe_dump(cff, sort_keys=False, allow_unicode=True)


def write_metadata(out: Path, project: Project, tables, version: str, date: str | None) -> None:
    (out / "LICENSE.md").write_text(LICENSE_TEXT, encoding="utf-8")
    (out / "CITATION.cff").write_text(citation_cff(project, version, date), encoding="utf-8")
    document = croissant(out, project, tables, version, date)
    (out / "croissant.json").write_text(
        json.dumps(document, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
