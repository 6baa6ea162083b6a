"""Croissant's Responsible-AI fields, computed from the build: the corpus records (sources,
what is known of them, cleaning rules), the built tables (annotations per item, model
versions, conditions, the classes each split lacks) and the project's settings.

`collection_facts` runs in the build while the corpus is in memory; `rai_fields` gives the
keyword arguments of `mlcroissant.Metadata` (the RAI vocabulary of mlcroissant 1.x).
"""

from __future__ import annotations

from collections import Counter
from importlib import metadata as package_metadata

import pandas as pd
import pyarrow as pa

from builders.build.evaluation import MIN_EVALUATION_ARTICLES, labelled_articles, missing_classes
from builders.build.tokens import TOKENIZER
from builders.corpus.folds import N_FOLDS
from builders.features import label_names
from builders.schema import SCHEMA_VERSION

PROVENANCE = ("url", "publisher", "published", "retrieved")


def collection_facts(corpus: pd.DataFrame) -> dict:
    """What the corpus records say about where the texts came from and how they were cleaned."""
    removed: Counter = Counter()
    cleaned_articles: Counter = Counter()
    flagged: Counter = Counter()
    for cleaning, flags in zip(corpus["cleaning"], corpus["flags"], strict=True):
        rules = [c["rule"] for c in cleaning or []]
        removed.update(rules)
        cleaned_articles.update(set(rules))
        flagged.update(f["rule"] for f in flags or [])
    return {
        "n_articles": len(corpus),
        "known": {column: int(corpus[column].notna().sum()) for column in PROVENANCE},
        "removed": {rule: (removed[rule], cleaned_articles[rule]) for rule in sorted(removed)},
        "flagged": dict(sorted(flagged.items())),
    }


def platform_version() -> str:
    try:
        return f"Label Studio {package_metadata.version('label-studio')}"
    except package_metadata.PackageNotFoundError:
        return "Label Studio (version not installed where this was built)"


def annotations_per_item(tables: dict[str, dict[str, pa.Table]]) -> str:
    annotations = pa.concat_tables(tables["annotations"].values())
    origins = label_names("annotations", "origin")
    per_article: dict[str, Counter] = {o: Counter() for o in origins}
    for article_id, origin in zip(
        annotations.column("article_id").to_pylist(), annotations.column("origin").to_pylist(), strict=True
    ):
        per_article[origins[origin]][article_id] += 1
    n_articles = sum(t.num_rows for t in tables["articles"].values())
    parts = []
    for origin in origins:
        counts = list(per_article[origin].values()) + [0] * (n_articles - len(per_article[origin]))
        total = sum(counts)
        shown = f"{min(counts)}–{max(counts)}, mean {total / n_articles:.2f}" if n_articles else "none"
        parts.append(f"{origin} ({'annotations' if origin == 'human' else 'pre-annotations'}): {shown}")
    return f"Per article (item = article; its claim spans are labelled inside it), over {n_articles} articles: " + (
        "; ".join(parts) + "."
    )


def machine_tools(tables: dict[str, dict[str, pa.Table]]) -> list[str]:
    annotations = pa.concat_tables(tables["annotations"].values())
    versions = Counter(m for m in annotations.column("model_version").to_pylist() if m)
    tools = []
    for version, n in sorted(versions.items()):
        who = (
            "labels the project's maintainers wrote by reading the articles against the guidelines"
            if version.startswith("maintainers-pilot")
            else "model predictions"
        )
        tools.append(
            f"{version}: {n} pre-annotations ({who}), imported into Label Studio as predictions; origin = model"
        )
    return tools or ["none: no pre-annotation in this build"]


def rai_fields(
    tables: dict[str, dict[str, pa.Table]],
    facts: dict,
    guideline_version: str,
    config_sha: str,
    version: str,
    unreleased: bool,
) -> dict:
    """Keyword arguments of `mlc.Metadata` for the RAI fields."""
    n = facts["n_articles"]
    known = ", ".join(f"{c} for {k} of {n}" for c, k in facts["known"].items())
    removed = [
        f"{rule}: {lines} line(s) removed in {articles} article(s)"
        for rule, (lines, articles) in facts["removed"].items()
    ]
    flagged = [f"{rule}: {k} paragraph(s) flagged and kept" for rule, k in facts["flagged"].items()]
    articles = pa.concat_tables(tables["articles"].values())
    conditions = Counter(c for cs in articles.column("conditions").to_pylist() for c in cs)
    named = ", ".join(f"{c} ({k})" for c, k in sorted(conditions.items(), key=lambda ck: (-ck[1], ck[0])))
    labelled = labelled_articles(tables)
    lacks = [
        f"{split} has no {column} = {', '.join(values)}"
        for split, columns in missing_classes(tables).items()
        for column, values in columns.items()
    ]
    small = [s for s in ("validation", "test") if len(labelled[s]) < MIN_EVALUATION_ARTICLES]
    return {
        "data_collection": (
            f"{n} public web articles (health and clinic sites) about ketamine therapy, saved as text by the "
            "project's maintainers (corpus/sources/) and ingested with `khc ingest`, which cleans each text by "
            f"named rules and records what it removed. What is known of the sources: {known}; what is not known "
            "is left null, never guessed."
        ),
        "data_collection_type": ["Web pages saved as text"],
        "data_collection_missing_data": (
            "Unknown source provenance is left null, never guessed: "
            + ", ".join(f"{c} unknown for {n - k} of {n} articles" for c, k in facts["known"].items())
            + ". Labels are null where annotators tied or nobody answered (counted in build_report.json)."
        ),
        "data_collection_raw_data": (
            "The saved source texts are corpus/sources/ in the project repository; each article record keeps its "
            "source file and the source's sha256."
        ),
        "data_preprocessing_protocol": [
            *(removed or ["no cleaning rule removed anything"]),
            *flagged,
            "texts normalised to Unicode NFC with \\n line ends; article texts are immutable once ingested",
            f"claim_tokens: tokenizer {TOKENIZER}; BIO tags from the aggregated claims (rules and counts in the card)",
        ],
        "data_annotation_protocol": [
            f"annotation guidelines version {guideline_version} (annotations/guidelines.md), "
            f"label schema v{SCHEMA_VERSION}",
            f"Label Studio labeling config generated from the schema, sha256 {config_sha}",
            "one label per claim and article: a ground-truth human annotation, else the human majority, else the "
            "model pre-annotations (ties left null); spans matched at IoU >= 0.5",
        ],
        "data_annotation_platform": [platform_version()],
        "data_annotation_analysis": [
            "Krippendorff's alpha per label and pairwise Cohen's kappa over all annotators in agreement.json; "
            "'not available' when fewer than two annotators labelled a unit"
        ],
        "annotations_per_item": annotations_per_item(tables),
        "annotator_demographics": ["not collected: annotators appear only under pseudonyms"],
        "machine_annotation_tools": machine_tools(tables),
        "personal_sensitive_information": [
            "Annotators appear only as stable pseudonyms (ann-NNN, from a keyed map kept outside the repository); "
            "no names, emails or Label Studio user names are stored.",
            "The articles are published web pages about medical treatment of health conditions "
            f"({named or 'none named'}); "
            "they describe treatments, not identified patients, and carry no personal data the project collected.",
        ],
        "data_biases": [
            f"A small corpus ({n} articles) in English from a few health and clinic sites; "
            "classes are unevenly represented (the card's tables).",
            *lacks,
        ],
        "data_limitations": [
            "Labels describe what an article asserts and what support it gives, not whether a claim is true.",
            "Pre-annotations (origin = model) are not human ground truth.",
            *(
                [
                    f"The {' and '.join(small)} split(s) hold too few labelled articles "
                    f"(fewer than {MIN_EVALUATION_ARTICLES}) to report scores on; use the {N_FOLDS} folds."
                ]
                if small
                else []
            ),
        ],
        "data_use_cases": [
            "Intended: training and evaluating classifiers of health claims (claim type, evidence quality, risk "
            "disclosure); token classification of claim spans; studying annotator agreement.",
            "Out of scope: medical advice or any decision about a person's care; fact-checking (labels are not "
            "truth labels); presenting pre-annotations as human labels.",
        ],
        "data_social_impact": (
            "Meant to help study how health articles present an off-label treatment; a classifier trained on it "
            "must not be used to judge whether a treatment works or is safe."
        ),
        "data_release_maintenance_plan": (
            ("This is an unreleased development build (version " + version + "): it is not a citable release. ")
            if unreleased
            else f"Release {version}. "
        )
        + "Releases are versioned MAJOR.MINOR.PATCH, each with a record (releases/VERSION.json) of its inputs "
        "and output hashes that `khc verify` rebuilds and compares; article ids, splits and folds never change "
        "between versions; label changes are listed in CHANGELOG.md.",
    }
