"""Release metadata written beside the data: croissant.json, CITATION.cff, LICENSE.md.

Croissant is built with mlcroissant's own classes (one RecordSet per config and split,
one Field per column, described by what it holds and, for a label, each code's value and
meaning from the schema; the Responsible-AI fields from builders/release/rai.py), so the
file is what mlcroissant itself writes and reads back. Without a Hub repo (`repo_id` unset)
no file links to the Hub.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlcroissant as mlc
import pyarrow as pa
import yaml
from datasets import ClassLabel, Value

from builders.build.tokens import TOKENIZER
from builders.corpus.folds import N_FOLDS
from builders.corpus.records import sha256_file
from builders.features import BIO_TAGS, FEATURES
from builders.labelstudio.labelconfig import labeling_config_sha256
from builders.layout import CONFIGS, parquet_path, present_splits
from builders.project import Project
from builders.release.rai import rai_fields
from builders.schema import FAMILY_BY_NAME, Family

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


# What each non-label column holds (label columns are described from the schema).
COLUMNS = {
    "claim_id": "stable id of the aggregated claim",
    "article_id": "permanent id of the article (khc-NNNNNN), the key that joins every config",
    "start": "character offset of the span's first character in the article text",
    "end": "character offset one past the span's last character in the article text",
    "text": "the text itself (of the claim span, or the whole article)",
    "origin": "where the label came from: 0=human (an annotation a person submitted in Label Studio), "
    "1=model (a pre-annotation nobody submitted)",
    "aggregation": "how the label was decided: 0=ground_truth (a human annotation flagged ground truth), "
    "1=human_majority, 2=model (model pre-annotations, no human annotation yet)",
    "n_annotators": "annotators of the deciding tier who had the article",
    "n_marked": "of them, how many marked a matching span",
    "annotators": "pseudonyms (ann-NNN) or model versions of the deciding annotators",
    "source_annotations": "ids of the annotations the label was aggregated from",
    "guideline_version": "version of the annotation guidelines the label was made under",
    "title": "the article's title, where known",
    "text_sha256": "sha256 of the article text",
    "url": "the article's URL, null where unknown",
    "publisher": "the article's publisher, null where unknown",
    "published": "publication date, null where unknown",
    "retrieved": "retrieval date, null where unknown",
    "source_file": "the saved source text the article was ingested from (corpus/sources/)",
    "conditions": "health conditions the article names (keyword rule conditions_keywords_v1)",
    "license_note": "what is known of the article text's licence",
    "labeled": "whether anyone (human or model) labelled the article",
    "n_claims": "number of aggregated claims of the article",
    "risk_disclosures_undecided": "risk-disclosure items the annotators split evenly on (neither present nor absent)",
    "annotation_uid": "id of the annotation or prediction (project, task and annotation ids)",
    "annotator": "pseudonym of the human annotator (null for a model pre-annotation)",
    "model_version": "the pre-annotation's model version (null for a human annotation)",
    "ground_truth": "whether the annotation is flagged ground truth in Label Studio",
    "ls_project_id": "Label Studio project id",
    "ls_task_id": "Label Studio task id",
    "ls_annotation_id": "Label Studio annotation id (null for a prediction)",
    "ls_prediction_id": "Label Studio prediction id (null for an annotation)",
    "labeling_config_sha256": "sha256 of the Label Studio labeling config the label was made with",
    "created_at": "when the annotation was created in Label Studio",
    "updated_at": "when the annotation was last updated in Label Studio",
    "source": (
        "the Label Studio task the labels were read from (label-studio:project-P/task-T), the same whichever "
        "snapshot held it; for a file without Label Studio ids, the file and task index"
    ),
    "tokens": f"the article's tokens (tokenizer {TOKENIZER}: word runs and single punctuation characters)",
    "token_start": "character offset of each token's first character in the article text",
    "token_end": "character offset one past each token's last character",
    "n_accepted_unchanged": "of the deciding human votes, how many kept a prediction unchanged",
    "parent_prediction": "the Label Studio prediction the annotation was started from, if any",
    "risk_disclosures_origin": "Label Studio result origin of the risk-disclosure answer",
    "harms_explained_origin": "Label Studio result origin of the harms_explained answer",
    "evidence_explained_origin": "Label Studio result origin of the evidence_explained answer",
    "fold": f"cross-validation fold of a train or validation article (0-{N_FOLDS - 1}); null for test articles "
    "(held out)",
}


def _family_description(family: Family) -> str:
    values = "; ".join(f"{code}={v.name} ({v.meaning})" for code, v in enumerate(family.values))
    return f"{family.question} Codes: {values}"


def _describe(name: str, feature) -> str:
    inner = getattr(feature, "feature", feature)
    many = "list of " if inner is not feature else ""
    family = FAMILY_BY_NAME.get(name.removesuffix("_undecided"))  # "_origin" columns are in COLUMNS
    if family is not None and name not in COLUMNS:
        return f"{name}: {many}ClassLabel. {_family_description(family)}"
    if name == "tags":
        codes = ", ".join(f"{i}={n}" for i, n in enumerate(BIO_TAGS))
        return (
            f"tags: list of ClassLabel, one BIO tag per token over the claim types (B- the first token of a claim, "
            f"I- the rest, O outside any claim): {codes}"
        )
    if isinstance(inner, ClassLabel):
        labels = ", ".join(f"{i}={n}" for i, n in enumerate(inner.names))
        return f"{name}: {many}ClassLabel ({labels}); {COLUMNS.get(name, name)}"
    return f"{name}: {COLUMNS.get(name, 'no description yet')}"  # the metadata test fails on a missing one


def croissant(
    out: Path,
    project: Project,
    tables: dict[str, dict[str, pa.Table]],
    version: str,
    date: str | None,
    facts: dict,
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
    unreleased = date is None
    metadata = mlc.Metadata(
        ctx=ctx,
        name=project.name,
        description=DESCRIPTION
        + (f" Unreleased development build {version}: not a citable release." if unreleased else ""),
        version=version,
        date_published=date,  # the release date; an unreleased build has none (and says so)
        creators=[mlc.Organization(ctx=ctx, name=CREATOR)],
        in_language=["en"],
        keywords=KEYWORDS,
        license=[license_url(project)],
        url=hub_url(project),
        cite_as=citation_text(project, version),
        distribution=files,
        record_sets=record_sets,
        **rai_fields(
            tables, facts, project.guideline_version(), labeling_config_sha256(), version, unreleased=unreleased
        ),
    )
    return metadata.to_json()


CREATOR = "The ketamine-health-claims contributors"
KEYWORDS = ["health misinformation", "ketamine", "claim detection", "Label Studio"]


def hub_url(project: Project) -> str | None:
    """The dataset's Hub page; None while the project has no Hub repo."""
    return f"https://huggingface.co/datasets/{project.repo_id}" if project.repo_id else None


def license_url(project: Project) -> str:
    """Where the licence statement is: on the Hub if there is a repo, else the file beside this one."""
    url = hub_url(project)
    return f"{url}/blob/main/LICENSE.md" if url else "LICENSE.md"


def citation_text(project: Project, version: str) -> str:
    where = f" {hub_url(project)}" if project.repo_id else ""
    return f"{project.pretty_name} ({project.name}), version {version}.{where}"


def citation_title(pretty_name: str) -> str:
    """The dataset's title in CITATION.cff and the card's citations."""
    return f"{pretty_name}: web articles' health claims about ketamine therapy, labelled"


def citation_cff(project: Project, version: str, date: str | None) -> str:
    cff = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it with its version.",
        "type": "dataset",
        "title": citation_title(project.pretty_name),
        "version": version,
        "authors": [{"name": CREATOR}],
        "abstract": DESCRIPTION,
        "keywords": KEYWORDS,
    }
    # No SPDX `license`: the article texts are not under the labels' licence; see LICENSE.md.
    # license-url must be a URL, so it is given only when the Hub repo exists.
    if project.repo_id:
        cff["url"] = hub_url(project)
        cff["license-url"] = license_url(project)
    if date:
        cff["date-released"] = date
    return yaml.safe_dump(cff, sort_keys=False, allow_unicode=True)


def write_metadata(out: Path, project: Project, tables, version: str, date: str | None, facts: dict) -> None:
    """`facts`: builders.release.rai.collection_facts of the corpus."""
    (out / "LICENSE.md").write_text(LICENSE_TEXT, encoding="utf-8")
    (out / "CITATION.cff").write_text(citation_cff(project, version, date), encoding="utf-8")
    document = croissant(out, project, tables, version, date, facts)
    (out / "croissant.json").write_text(
        json.dumps(document, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
