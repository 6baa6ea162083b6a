"""`khc build`: read → validate → normalise → aggregate → split → write.

All validation happens before anything is written; the output folder is replaced only
when the new one is complete. Counts of everything dropped or repaired are returned,
written to `build_report.json` and `manifest.json`, and printed by the CLI.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from builders import derived
from builders.build.aggregate import aggregate
from builders.build.agreement import AGREEMENT_UNIT_COLUMNS, answers
from builders.build.agreement import report as agreement_report_of
from builders.build.anchoring import without_accepted_predictions
from builders.build.card import baseline_figures, card_data, figures, hub_figures, render_card
from builders.build.card_sections import section_figures
from builders.build.helper import PARALLEL_MIN_ARTICLES, Helper, answers_of, hashes_of, warm_from_file
from builders.build.output import output_target, staged_output
from builders.build.read import read_labels
from builders.build.snapshots import label_files
from builders.build.spans import SpanGroups
from builders.build.tables import annotation_tables, article_tables, in_config_order
from builders.build.write import Writer, output_hashes, tool_versions, write_json
from builders.corpus.folds import append_folds, check_folds, choose_folds, read_fold_file
from builders.corpus.neardup import CACHE_FILE as NEARDUP_CACHE
from builders.corpus.neardup import corpus_pairs, refuse_cross_split_near_duplicates
from builders.corpus.records import load_corpus, sha256_file
from builders.corpus.splits import (
    SPLIT_RECORD_FIELD,
    append_assignments,
    check_split_history,
    choose_splits,
    read_split_file,
)
from builders.errors import KhcError, fail, partly_done
from builders.labelstudio.labelconfig import labeling_config_sha256
from builders.lock import project_lock
from builders.model import EVALUATION_FILE
from builders.progress import arrow_in_c_heap, gc_paused, note
from builders.project import MARKER, Project
from builders.release.metadata import write_metadata
from builders.release.rai import collection_facts
from builders.schema import SCHEMA_VERSION


@dataclass
class BuildResult:
    out: Path
    rows: dict[str, int]
    counts: Counter
    new_split_assignments: dict[str, str]


UNRELEASED = "0.0.0-dev"


def build(
    project: Project,
    out: Path | None = None,
    *,
    version: str = UNRELEASED,
    date: str | None = None,
    helper: bool = True,
    skip_invalid: bool = False,
    resplit: bool = False,
) -> BuildResult:
    """Build the dataset; `version` and `date` are set by `khc release` (else: unreleased).
    With `helper`, a large corpus's agreement is computed in a second process (builders/helper.py);
    with `skip_invalid`, annotations that cannot be read are left out and listed, not fatal; with
    `resplit`, moved splits are accepted (a deliberate re-split, for a major version)."""
    with gc_paused(), arrow_in_c_heap(), project_lock(project, "khc build"):
        return _build(project, out, version, date, helper, skip_invalid, resplit)


def _build(
    project: Project,
    out: Path | None,
    version: str,
    date: str | None,
    helper: bool,
    skip_invalid: bool = False,
    resplit: bool = False,
) -> BuildResult:
    out = output_target(out or project.default_out, project)
    problems = derived.check(project)
    if problems:
        raise KhcError(problems)
    guideline_version = project.guideline_version()
    corpus = load_corpus(project)
    if corpus.empty:
        fail("the corpus is empty", file=project.rel(project.corpus_file), fix="add articles with `khc ingest FILE`")
    existing = read_split_file(project.split_file, project.rel(project.split_file))
    note(f"{len(corpus)} articles in the corpus; reading the Label Studio exports")
    existing_folds = read_fold_file(project.fold_file, project.rel(project.fold_file))
    inputs = [p for p in _input_files(project) if p not in (project.split_file, project.fold_file)]  # they may change
    with Helper(helper and len(corpus) >= PARALLEL_MIN_ARTICLES) as beside:
        input_hashes = beside.run(hashes_of, inputs)
        warmed = None  # near-duplicate signatures the cache lacks, computed by the helper beside the reading
        if beside.pool is not None:  # the helper reads the texts from the corpus file itself
            warmed = beside.run(warm_from_file, project.root / NEARDUP_CACHE, project.corpus_file)
        labels = read_labels(project, corpus, skip_invalid=skip_invalid)
        note(
            f"read {labels.counts['annotations_read']} annotations, {labels.counts['predictions_read']} predictions "
            f"and {len(labels.spans)} spans; aggregating and computing agreement"
        )
        groups = SpanGroups.of(labels.units, labels.spans)  # spans sorted and grouped once, for both stages
        agreement_answers = beside.run(answers_of, labels.units[AGREEMENT_UNIT_COLUMNS], labels.spans.iloc[:0], groups)
        aggregated = aggregate(labels.units, labels.spans, groups)
        del groups
        note(f"{len(aggregated.claims)} claims; waiting for agreement")
        found = agreement_answers()
        del agreement_answers  # it holds the span groups
        hashes = input_hashes()
        if warmed is not None:
            warmed()
    note("agreement figures")
    agreement_report = agreement_report_of(found)
    del found
    # Human agreement also without the results people accepted unchanged from a prediction.
    independent = without_accepted_predictions(labels.units, labels.spans)
    agreement_report["independent_krippendorff_alpha"] = (
        agreement_report_of(answers(*independent))["krippendorff_alpha"]
        if independent
        else agreement_report["krippendorff_alpha"]
    )
    del independent  # a copy of the spans

    note("encoding the tables")
    new_assignments = choose_splits(existing, corpus["article_id"].tolist(), project.splits.seed, project.splits.ratios)
    assignments = {**existing, **new_assignments}
    splits_moved = check_split_history(project, assignments, resplit=resplit)
    twins = corpus_pairs(corpus, project.root / NEARDUP_CACHE)  # once, for the split check and the folds
    refuse_cross_split_near_duplicates(corpus, assignments, pairs=twins)
    refold = {}
    if splits_moved:  # a deliberate re-split: an article moved into test leaves its fold
        refold = {a: f for a, f in existing_folds.items() if assignments.get(a) != "test"}
        refold = refold if len(refold) != len(existing_folds) else {}
        existing_folds = refold or existing_folds
    check_folds(existing_folds, assignments, project.rel(project.fold_file))
    new_folds = choose_folds(
        existing_folds,
        {a: assignments[a] for a in corpus["article_id"]},
        project.splits.seed,
        twins,
        project.rel(project.fold_file),
    )
    counts = labels.counts + aggregated.counts
    reports = {**labels.report, **aggregated.report}
    folds = {**existing_folds, **new_folds}
    recorded = []  # the split and fold files, once appended to: kept whatever happens after
    # Each split of each config is written as soon as it is encoded, beside the encoding of the next.
    with partly_done(recorded, "fix the cause above and run `khc build` again (it reuses the recorded splits)"), \
            staged_output(out, project) as stage, Writer(stage) as writer:  # fmt: skip
        # The labels are let go as soon as they are encoded: the rest is built in the memory they held.
        tables = {"annotations": annotation_tables(labels, assignments, folds, writer)}
        del labels
        tables = in_config_order(tables | article_tables(corpus, aggregated, assignments, folds, counts, writer))
        counts["articles"] = len(corpus)
        counts["new_split_assignments"] = len(new_assignments)
        if splits_moved:
            counts["articles_moved_by_resplit"] = len(splits_moved)
        counts["new_fold_assignments"] = len(new_folds)
        build_report = {"counts": dict(sorted(counts.items())), **reports}
        facts = collection_facts(corpus)  # for Croissant's data-collection fields
        del corpus, aggregated  # the written tables' slim copies hold what the card reads

        note("writing the dataset")
        config_sha = labeling_config_sha256()
        template = project.datacard_file
        if not template.exists():
            fail("the card template is missing", file=project.rel(template), fix="restore it from git")
        readme = render_card(
            template.read_text(encoding="utf-8"),
            project.rel(template),
            card_data(project.pretty_name, tables, writer.num_bytes),
            {
                **figures(tables, counts, guideline_version, config_sha, agreement_report),
                **hub_figures(project.repo_id, version, version == UNRELEASED),
                **section_figures(project, tables, facts, config_sha, version, date),
                **baseline_figures(project, tables, guideline_version),
            },
        )

        # Everything is validated: record new articles' splits (deterministic, so a later
        # failure while writing leaves a correct file), then write the output.
        if new_assignments:
            _record(project, project.split_file, lambda: append_assignments(project.split_file, new_assignments))
            recorded.append(f"{project.rel(project.split_file)}: the splits of {len(new_assignments)} new article(s)")
        if refold:  # the re-split took articles out of the folds: the file is written anew
            _record(
                project, project.fold_file, lambda: append_folds(project.fold_file, {**refold, **new_folds}, anew=True)
            )
            recorded.append(f"{project.rel(project.fold_file)}: written anew for the re-split")
        elif new_folds:
            _record(project, project.fold_file, lambda: append_folds(project.fold_file, new_folds))
            recorded.append(f"{project.rel(project.fold_file)}: the folds of {len(new_folds)} new article(s)")
        for record_file in (project.split_file, project.fold_file):
            if record_file.is_file():
                hashes[record_file] = sha256_file(record_file)
        rows = writer.finish()  # the Parquet files are complete before anything hashes them
        (stage / "README.md").write_text(readme, encoding="utf-8")
        write_json(stage / "agreement.json", agreement_report)
        write_metadata(stage, project, tables, version, date, facts)
        write_json(stage / "build_report.json", build_report)
        write_json(
            stage / "manifest.json",
            {
                "dataset": project.name,
                "version": version,
                "schema_version": SCHEMA_VERSION,
                "guideline_version": guideline_version,
                "labeling_config_sha256": config_sha,
                "inputs": {project.rel(p): hashes[p] for p in sorted(hashes, key=project.rel)},
                "outputs": output_hashes(stage, rows),
                "counts": dict(sorted(counts.items())),
                SPLIT_RECORD_FIELD: dict(sorted({**existing, **new_assignments}.items())),
                "tools": tool_versions(),
            },
        )
    note("done")
    return BuildResult(out=out, rows=rows, counts=counts, new_split_assignments=new_assignments)


def _record(project: Project, path: Path, write: Callable[[], None]) -> None:
    """Write a committed record (written whole or not at all); a failure names it, not the output."""
    try:
        write()
    except OSError as exc:
        fail(
            f"could not write the record: {exc.strerror or exc}",
            file=project.rel(path),
            fix="free some space and run `khc build` again; the record is as it was",
        )


def _input_files(project: Project) -> list[Path]:
    """Every file the build read, superseded snapshots included."""
    files = [
        project.root / MARKER,
        project.corpus_file,
        project.split_file,
        project.fold_file,
        project.guidelines_file,
        project.labeling_config_file,
        project.datacard_file,
        project.root / EVALUATION_FILE,  # the card's Baseline figures
        *sorted(project.sources_dir.glob("*")),
        *label_files(project),
    ]
    return sorted({p for p in files if p.is_file()}, key=lambda p: project.rel(p))
