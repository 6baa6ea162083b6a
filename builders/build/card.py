"""The release README.md: YAML metadata from the Features, card prose from `datacard.md`.

`datacard.md` holds the prose with `{{ name }}` placeholders; every figure that fills them
is computed here from the built tables. An unknown placeholder is an error, so a figure
can't be typed by hand and then go stale.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import List
from huggingface_hub import DatasetCard, DatasetCardData

from builders.build.agreement_card import agreement_markdown
from builders.build.evaluation import evaluation_note, fold_rows, missing_classes_markdown
from builders.build.index import PULL_HISTORY_COUNTS
from builders.corpus.folds import N_FOLDS
from builders.corpus.neardup import JACCARD_THRESHOLD
from builders.errors import fail
from builders.features import FEATURES, label_names
from builders.layout import CONFIGS, DEFAULT_CONFIG, SPLITS, parquet_path, present_splits
from builders.markdown import label_schema_markdown, md_table

PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def card_data(
    pretty_name: str, tables: dict[str, dict[str, pa.Table]], num_bytes: dict[str, dict[str, int]] | None = None
) -> DatasetCardData:
    """`num_bytes`: the full tables' `nbytes` when `tables` are the written ones' slim copies."""
    present = {c: present_splits(tables, c) for c in CONFIGS}
    configs = [
        {
            "config_name": config,
            **({"default": True} if config == DEFAULT_CONFIG else {}),
            "data_files": [{"split": s, "path": parquet_path(config, s)} for s in present[config]],
        }
        for config in CONFIGS
        if present[config]
    ]
    dataset_info = [
        {
            "config_name": config,
            "features": FEATURES[config]._to_yaml_list(),
            "splits": [
                {
                    "name": s,
                    "num_bytes": num_bytes[config][s] if num_bytes else tables[config][s].nbytes,
                    "num_examples": tables[config][s].num_rows,
                }
                for s in present[config]
            ],
        }
        for config in CONFIGS
        if present[config]
    ]
    n_claims = sum(t.num_rows for t in tables["claims"].values())
    return DatasetCardData(
        pretty_name=pretty_name,
        language=["en"],
        license="other",
        license_name="publisher-rights-unknown",
        license_link="LICENSE.md",
        task_categories=["text-classification", "token-classification"],
        task_ids=["multi-class-classification", "multi-label-classification"],
        size_categories=[size_category(max(n_claims, 1))],
        tags=["health-misinformation", "ketamine", "label-studio", "medical"],
        configs=configs,
        dataset_info=dataset_info,
    )


def _distribution(tables: dict[str, pa.Table], config: str, column: str) -> str:
    """A value × (split, origin) table of a label column; multi-label columns count items."""
    names = label_names(config, column)
    origins = label_names(config, "origin")
    many = isinstance(FEATURES[config][column], List)
    keys = [(s, o) for s in SPLITS for o in origins]
    counts: dict[tuple[str, str], Counter] = {k: Counter() for k in keys}
    special = {UNDECIDED: "(undecided)", NOT_ANSWERED: "(not answered)"}
    for split in SPLITS:
        for origin, code, n in _label_counts(tables[split], column, many):
            counts[(split, origins[origin])][names[code] if code >= 0 else special[code]] += n
    used = [k for k in keys if sum(counts[k].values())]
    if not used:
        return "_No labels yet._"
    values = names + [v for v in ("(undecided)", "(not answered)") if any(counts[k][v] for k in used)]
    header = [column] + [f"{s} · {o}" for s, o in used]
    return md_table(header, [[v] + [counts[k][v] for k in used] for v in values])


UNDECIDED, NOT_ANSWERED = -1, -2  # codes `_label_counts` gives a null value and an unanswered checklist


def _label_counts(table: pa.Table, column: str, many: bool) -> list[tuple[int, int, int]]:
    """(origin code, value code, count) of a label column, over columns: rows without an origin
    are left out; a checklist counts its items, or NOT_ANSWERED once when it is null (no item,
    present or absent)."""
    values = table.column(column).combine_chunks()
    if many:
        rows = np.concatenate([pc.list_parent_indices(values).to_numpy(), np.flatnonzero(_codes(values.is_null()))])
        codes = np.concatenate([_codes(pc.list_flatten(values)), np.full(values.null_count, NOT_ANSWERED)])
    else:
        rows, codes = np.arange(len(values)), _codes(values)
    origin = _codes(table.column("origin"))[rows]
    kept = origin >= 0
    width = 1 - NOT_ANSWERED + max(int(codes.max(initial=0)), 0)  # every code, shifted to count from 0
    pairs = np.bincount(origin[kept] * width + codes[kept] - NOT_ANSWERED)
    return [(int(p // width), int(p % width) + NOT_ANSWERED, int(pairs[p])) for p in np.flatnonzero(pairs)]


def _codes(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Codes (or booleans as 0/1) as int64, null as UNDECIDED."""
    return pc.fill_null(pc.cast(array, pa.int64()), UNDECIDED).to_numpy()


def figures(
    tables: dict[str, dict[str, pa.Table]],
    counts: Counter,
    guideline_version: str,
    config_sha: str,
    agreement_report: dict,
) -> dict[str, str]:
    rows = {c: {s: tables[c][s].num_rows for s in SPLITS} for c in CONFIGS}
    annotations = pa.concat_tables(tables["annotations"].values())
    origin_names = label_names("annotations", "origin")
    by_origin = Counter(origin_names[o] for o in annotations.column("origin").to_pylist())
    annotators = Counter(
        (origin_names[o], a)
        for o, a in zip(
            annotations.column("origin").to_pylist(), annotations.column("annotator").to_pylist(), strict=True
        )
    )
    n_human_annotators = sum(1 for (o, _a) in annotators if o == "human")
    model_versions = sorted({m for m in annotations.column("model_version").to_pylist() if m})
    articles = pa.concat_tables(tables["articles"].values())
    claims = pa.concat_tables(tables["claims"].values())
    n_labeled = sum(articles.column("labeled").to_pylist())
    per_article = [
        n
        for n, lab in zip(articles.column("n_claims").to_pylist(), articles.column("labeled").to_pylist(), strict=True)
        if lab
    ]
    if not annotations.num_rows:
        status = (
            "**No labels yet.** The articles are in the corpus, but none has been labelled or "
            "pre-annotated; every label column is null (`labeled = false`)."
        )
    elif by_origin["human"] == 0:
        status = (
            "**No human annotation has been collected yet.** Every label in this build is a "
            "pre-annotation (`origin = model`): written by the project's maintainers or a model, "
            "for annotators to correct in Label Studio. Do not use these labels as human ground truth."
        )
    else:
        accepted, human_spans = _accepted_unchanged(tables["annotations"])
        status = (
            f"{by_origin['human']} annotations by {n_human_annotators} human annotators "
            f"(`origin = human`) and {by_origin['model']} pre-annotations (`origin = model`). Of the "
            f"{human_spans} claim spans people submitted, {accepted} are a prediction's span and label "
            "accepted unchanged (Label Studio's result origin `prediction`): a person's confirmation of a "
            "model label, not an independent human judgement."
        )
    return {
        "status": status,
        "guideline_version": guideline_version,
        "labeling_config_sha256": config_sha,
        "n_articles": str(articles.num_rows),
        "n_labeled_articles": str(n_labeled),
        "n_claims": str(claims.num_rows),
        "n_human_annotations": str(by_origin["human"]),
        "n_model_annotations": str(by_origin["model"]),
        "n_human_annotators": str(n_human_annotators),
        "model_versions": ", ".join(f"`{m}`" for m in model_versions) or "none",
        "claims_per_article": (
            f"{min(per_article)}–{max(per_article)} (mean {sum(per_article) / len(per_article):.1f})"
            if per_article
            else "not available (no labeled article)"
        ),
        "rows_table": md_table(
            ["config", *SPLITS, "total"], [[c, *rows[c].values(), sum(rows[c].values())] for c in CONFIGS]
        )
        + _absent_note(rows),
        "claim_type_table": _distribution(tables["claims"], "claims", "claim_type"),
        "evidence_table": _distribution(tables["claims"], "claims", "evidence"),
        "risk_disclosures_table": _distribution(tables["articles"], "articles", "risk_disclosures"),
        "harms_explained_table": _distribution(tables["articles"], "articles", "harms_explained"),
        "evidence_explained_table": _distribution(tables["articles"], "articles", "evidence_explained"),
        "build_counts_table": md_table(
            ["what", "count"], [[k, v] for k, v in sorted(counts.items()) if v and k not in PULL_HISTORY_COUNTS]
        ),
        "label_schema_tables": label_schema_markdown(),
        "conditions_table": md_table(
            ["condition", "articles"],
            [
                [c, n]
                for c, n in sorted(
                    Counter(c for cs in articles.column("conditions").to_pylist() for c in cs).items(),
                    key=lambda cn: (-cn[1], cn[0]),
                )
            ],
        ),
        "agreement_table": agreement_markdown(agreement_report),
        "folds_table": md_table(["fold", "train articles", "validation articles", "claims"], fold_rows(tables)),
        "missing_classes": missing_classes_markdown(tables),
        "evaluation_note": evaluation_note(tables),
        "n_folds": str(N_FOLDS),
        "near_duplicate_threshold": str(JACCARD_THRESHOLD),
    }


def hub_figures(repo_id: str | None, version: str, unreleased: bool) -> dict[str, str]:
    """The version and how to load this build: from the Hub at its tag when the project has a
    repo and the build is a release, else from the built folder (never an invented repo id)."""
    if repo_id and not unreleased:
        source, options = f'"{repo_id}"', f', revision="v{version}"'
        where = f"the Hub repo `{repo_id}` at tag `v{version}`"
    else:
        # datasets keys its cache of a local folder on this card's YAML alone, so a rebuild with other
        # labels but the same counts would load the previous build's rows: read the files anew.
        source, options = '"path/to/this/folder"', ', download_mode="force_redownload"'
        where = (
            "this folder (the project has no Hugging Face repo yet)"
            if not repo_id
            else f"this folder (an unreleased build; releases are on `{repo_id}`)"
        )
        where += (
            '; `download_mode="force_redownload"` makes `datasets` read the files again, since its cache '
            "of a local folder is keyed on this card's metadata and could return an earlier build's rows"
        )
    return {"version": version, "load_source": source, "load_options": options, "load_where": where}


def baseline_figures(project, tables: dict[str, dict[str, pa.Table]], guideline_version: str) -> dict[str, str]:
    """The "Baseline" section, from the committed `khc model evaluate` figures (builders/model/recorded.py)."""
    from builders.model.recorded import card_section

    return {"baseline_section": card_section(project, tables, guideline_version)}


def _accepted_unchanged(tables: dict[str, pa.Table]) -> tuple[int, int]:
    """(spans people accepted unchanged from a prediction, all spans people submitted)."""
    human = label_names("annotations", "origin").index("human")
    prediction = FEATURES["annotations"]["spans"].feature["result_origin"].names.index("prediction")
    accepted = submitted = 0
    for table in tables.values():  # over columns: the spans as Python dicts would cost seconds and GBs
        origin, row = table.column("origin").to_numpy(), 0
        for spans in table.column("spans").chunks:  # chunk by chunk: combining them would copy every span
            by_human = origin[row + pc.list_parent_indices(spans).to_numpy()] == human
            result_origin = pc.struct_field(pc.list_flatten(spans), "result_origin").to_numpy(zero_copy_only=False)
            submitted += int(by_human.sum())
            accepted += int((by_human & (result_origin == prediction)).sum())
            row += len(spans)
    return accepted, submitted


def _absent_note(rows: dict[str, dict[str, int]]) -> str:
    empty = [f"`{c}` {s}" for c in CONFIGS for s in SPLITS if not rows[c][s]]
    if not empty:
        return ""
    return (
        "\n\nNot in this build, because they have no rows yet: "
        + ", ".join(empty)
        + " (`datasets` cannot load an empty split)."
    )


def render_card(template: str, template_name: str, data: DatasetCardData, values: dict[str, str]) -> str:
    unknown = sorted({m.group(1) for m in PLACEHOLDER.finditer(template)} - set(values))
    if unknown:
        fail(
            f"unknown placeholders {unknown}",
            file=template_name,
            fix=f"use only figures the build computes: {', '.join(sorted(values))}",
        )
    body = PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body.lstrip()}")
    return str(card)
