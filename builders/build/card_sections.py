"""The card's sections of the Hugging Face dataset card template that say where the data came
from, how it was annotated, its limits, licence and citation, filled from the build.

The facts are Croissant's Responsible-AI fields (`builders.release.rai.rai_fields`), so the card
and `croissant.json` say the same thing; the licence is `LICENSE.md`'s text; the citation and the
repository come from `khc.toml` (no Hub link while the project has no repo id, never an invented one).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pyarrow as pa

from builders.markdown import md_table
from builders.release.metadata import CREATOR, LICENSE_TEXT, citation_title
from builders.release.rai import platform_version, rai_fields

if TYPE_CHECKING:
    from builders.project import Project

SOURCE_TABLE_MAX = 50  # articles; a larger corpus's card lists publishers, not every article
PROVENANCE = ("publisher", "url", "published", "retrieved")


def section_figures(
    project: Project,
    tables: dict[str, dict[str, pa.Table]],
    facts: dict,
    config_sha: str,
    version: str,
    date: str | None,
) -> dict[str, str]:
    """Figures of the template sections; `facts` is `rai.collection_facts` of the corpus, `date` the
    release date (None: an unreleased build)."""
    guideline_version = project.guideline_version()
    rai = rai_fields(tables, facts, guideline_version, config_sha, version, unreleased=date is None)
    repo_id, names = project.repo_id, (project.pretty_name, project.name)
    hub = f"https://huggingface.co/datasets/{repo_id}" if repo_id else None
    return {
        "curators": CREATOR,
        "licence_summary": "labels, metadata and code under the MIT licence; the article texts' rights remain with "
        "their publishers (no licence to redistribute them is known); see Licence",
        "licence_statement": LICENSE_TEXT.split("\n", 2)[2].strip(),  # LICENSE.md without its heading
        "repository": (
            f"[{repo_id}]({hub}) on the Hugging Face Hub"
            if hub
            else "none yet: the project has no Hugging Face repo (`repo_id` is unset in `khc.toml`), so this "
            "card, `croissant.json` and `CITATION.cff` link to none; the dataset is this folder"
        ),
        "data_collection": rai["data_collection"],
        "missing_data": rai["data_collection_missing_data"],
        "raw_data": rai["data_collection_raw_data"],
        "preprocessing": _bullets(rai["data_preprocessing_protocol"]),
        "sources_table": sources_table(tables),
        "annotation_protocol": _bullets([*rai["data_annotation_protocol"], f"platform: {platform_version()}"]),
        "annotations_per_item": rai["annotations_per_item"],
        "machine_tools": _bullets(rai["machine_annotation_tools"]),
        "personal_information": _bullets(rai["personal_sensitive_information"]),
        # the first bias is the corpus's; the rest list the classes each split lacks, shown in "Splits and folds"
        "biases": _bullets(rai["data_biases"][:1]),
        "limitations": _bullets(rai["data_limitations"]),
        "maintenance_plan": rai["data_release_maintenance_plan"],
        "citation_bibtex": citation_bibtex(names, version, date, hub),
        "citation_apa": citation_apa(names[0], version, date, hub),
        "contact": (
            f"the Community tab of [{repo_id}]({hub}/discussions) on the Hub"
            if hub
            else "The maintainers of the ketamine-health-claims project, through its repository's issue tracker "
            "(the project has no Hub repo yet)"
        ),
    }


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def sources_table(tables: dict[str, dict[str, pa.Table]]) -> str:
    """What is and is not known of each article's source (every article up to SOURCE_TABLE_MAX,
    else how many articles each publisher has); unknown stays "unknown", never guessed."""
    articles = pa.concat_tables(tables["articles"].values()).select(["article_id", "title", *PROVENANCE])
    rows = sorted(articles.to_pylist(), key=lambda r: r["article_id"])
    if not rows:
        return "_No article yet._"
    if len(rows) > SOURCE_TABLE_MAX:
        publishers: dict[str, int] = {}
        for r in rows:
            publishers[r["publisher"] or "unknown"] = publishers.get(r["publisher"] or "unknown", 0) + 1
        top = sorted(publishers.items(), key=lambda pn: (-pn[1], pn[0]))[:SOURCE_TABLE_MAX]
        return md_table(["publisher", "articles"], [list(pn) for pn in top])
    return md_table(
        ["article", "title", *PROVENANCE],
        [[r["article_id"], _cell(r["title"]), *(_cell(r[c]) for c in PROVENANCE)] for r in rows],
    )


def _cell(value) -> str:
    return "unknown" if value is None else re.sub(r"[|\n]", " ", str(value))


def citation_bibtex(names: tuple[str, str], version: str, date: str | None, hub: str | None) -> str:
    pretty_name, name = names
    key = re.sub(r"\W+", "_", f"{name}_{version}")
    fields = [
        ("title", citation_title(pretty_name)),
        ("author", "{" + CREATOR + "}"),
        ("version", version),
        *([("year", date[:4]), ("month", date[5:7])] if date else []),
        *([("url", hub), ("howpublished", "Hugging Face dataset")] if hub else []),
        ("note", "dataset" if date else f"unreleased development build {version}, not a citable release"),
    ]
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"```bibtex\n@misc{{{key},\n{body}\n}}\n```"


def citation_apa(pretty_name: str, version: str, date: str | None, hub: str | None) -> str:
    year = date[:4] if date else "n.d."  # APA's "no date": an unreleased build has no release date
    where = f" Hugging Face. {hub}" if hub else ""
    unreleased = "" if date else " An unreleased development build, not a citable release."
    return f"{CREATOR}. ({year}). *{citation_title(pretty_name)}* (Version {version}) [Data set].{where}{unreleased}"
