"""Commands on the project's data: build, ingest, preannotate, agreement, schema."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from builders.cli.common import Commands
from builders.errors import KhcError, Problem
from builders.model.cli import add_preannotate_options, require_spec
from builders.model.cli import run_preannotate as run_model_preannotate
from builders.project import load_project


def add_build(commands: Commands) -> None:
    p = commands.add_parser(
        "build",
        help="build the dataset (Parquet splits, card, manifest) from corpus/ and annotations/",
        description="Read corpus/ and every Label Studio export under annotations/, validate, aggregate "
        "the labels, split per article and write the Hugging Face dataset folder. Nothing is "
        "written unless everything validates; the old output is replaced only when the new one is complete.",
    )
    p.add_argument("--out", help="output folder (default: dist/ in the project)")
    p.add_argument(
        "--dataset-version",
        default="0.0.0-dev",
        help="version written into the card, manifest, CITATION.cff and Croissant (set by khc release)",
    )
    p.add_argument("--date", help="release date YYYY-MM-DD (set by khc release)")
    p.add_argument(
        "--single-process",
        action="store_true",
        help="compute agreement in this process too (default: in a second process beside aggregation, "
        "for corpora of 200 articles or more; the output is the same)",
    )
    p.add_argument(
        "--resplit",
        action="store_true",
        help="accept moved splits (a deliberate re-split: release it as a new major version); without it a "
        "moved or missing split is refused",
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave out the annotations that cannot be read instead of stopping: each is listed (file, task, "
        "annotation, reason) in build_report.json and counted in the card; khc release refuses such a build "
        "unless it is released with --skip-invalid too, which lists them in the release record",
    )
    p.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from builders.build.pipeline import build

    project = load_project(args.root)
    out = Path(args.out) if args.out else None
    try:
        result = build(
            project,
            out,
            version=args.dataset_version,
            date=args.date,
            helper=not args.single_process,
            skip_invalid=args.skip_invalid,
            resplit=args.resplit,
        )
    except OSError as exc:
        if exc.filename is None:  # pyarrow's write errors name no file; they come from writing the output
            exc.filename = str((out or project.default_out).absolute())
        raise
    print(f"built {project.rel(result.out) if result.out.is_relative_to(project.root) else result.out}")
    for path, n in sorted(result.rows.items()):
        print(f"  {path}: {n} rows")
    print("counts (dropped, repaired, decided):")
    for key, value in sorted(result.counts.items()):
        if value:
            print(f"  {key}: {value}")
    if result.counts.get("skipped_invalid"):
        print(f"left out {result.counts['skipped_invalid']} unreadable annotations or tasks: see build_report.json")
    if result.new_split_assignments:
        print(f"assigned {len(result.new_split_assignments)} new articles to splits in corpus/splits.csv; commit it")
    return 0


def add_ingest(commands: Commands) -> None:
    p = commands.add_parser(
        "ingest",
        help="add an article from a local .txt or .html file",
        description="Add one article to corpus/: the text is cleaned by named rules (recorded in the "
        "record), its conditions detected, and it gets a new permanent article_id and a split. "
        "A text already in the corpus is refused. Unknown metadata stays empty: never guess it.",
    )
    p.add_argument("file", help="a .txt (UTF-8) or .html file; HTML is reduced to its article text by trafilatura")
    p.add_argument("--title", help="the article's title, if it has one (repeats of it in the text are removed)")
    p.add_argument("--url", help="where the article was published")
    p.add_argument("--publisher", help="who published it")
    p.add_argument("--published", help="publication date, YYYY-MM-DD")
    p.add_argument("--retrieved", help="date the text was retrieved, YYYY-MM-DD")
    p.add_argument("--conditions", help="comma-separated conditions, instead of keyword detection")
    p.add_argument("--license-note", help="rights/licence note (default: publisher and licence not recorded)")
    p.add_argument(
        "--allow-near-duplicate",
        metavar="REASON",
        help="ingest a near-duplicate of an article anyway; the reason is recorded and the article joins its "
        "twin's split",
    )
    p.set_defaults(func=run_ingest)


def run_ingest(args: argparse.Namespace) -> int:
    from builders.corpus.ingest import ingest

    project = load_project(args.root)
    conditions = [c.strip() for c in args.conditions.split(",")] if args.conditions is not None else None
    record = ingest(
        project,
        Path(args.file),
        title=args.title,
        url=args.url,
        publisher=args.publisher,
        published=args.published,
        retrieved=args.retrieved,
        conditions=conditions,
        license_note=args.license_note,
        allow_near_duplicate=args.allow_near_duplicate,
    )
    print(f"added {record['article_id']} ({len(record['text'])} characters) from {record['source_file']}")
    for removal in record["cleaning"]:
        print(f"  cleaned by {removal['rule']}: line {removal['line']}: {removal['text']}")
    for flag in record["flags"]:
        print(f"  flagged {flag['rule']}: line {flag['line']} repeats line {flag['repeats_line']}")
    print(f"  conditions ({record['conditions_rule']}): {', '.join(record['conditions']) or 'none'}")
    return 0


def add_preannotate(commands: Commands) -> None:
    p = commands.add_parser(
        "preannotate",
        help="turn a YAML pre-annotation spec into Label Studio predictions",
        description="Read a YAML file of pre-annotations (per article: claims as [claim_type, evidence, "
        "quote], and the article-level answers), find every quote in the corpus, check every value "
        "against the schema, and write annotations/predictions/<model_version>.json. Pre-annotations "
        "are model labels (origin = model) for annotators to correct, never human labels.",
    )
    p.add_argument("spec", nargs="?", help="the YAML spec, e.g. annotations/pilot/pilot-v2.yaml")
    add_preannotate_options(p)  # --model and article ids: the baseline model's predictions (issue 16)
    p.set_defaults(func=run_preannotate)


def run_preannotate(args: argparse.Namespace) -> int:
    from builders.labelstudio.preannotate import preannotate

    if args.model or not args.spec or args.article_ids:  # the baseline model's predictions (issue 16)
        return run_model_preannotate(args) if args.model else require_spec(args)
    project = load_project(args.root)
    out = preannotate(project, Path(args.spec).resolve())
    tasks = json.loads(out.read_text(encoding="utf-8"))
    n_claims = sum(1 for t in tasks for r in t["predictions"][0]["result"] if r["from_name"] == "claim_type")
    print(f"wrote {project.rel(out)}: {len(tasks)} articles, {n_claims} claim spans (origin = model)")
    return 0


def add_agreement(commands: Commands) -> None:
    p = commands.add_parser(
        "agreement",
        help="inter-annotator agreement and a disagreement list for adjudication",
        description="Agreement between the people who annotated (a model is never a rater among them; each "
        "model is compared with each person apart) on the units they share: span F1 (exact offsets and IoU >= "
        "0.5), Krippendorff's alpha with a bootstrap 95% interval for claim_type (nominal), "
        "evidence (ordinal, not_applicable left out), each risk-disclosure item and the two article "
        "criteria, and Cohen's kappa for every pair, each with the number of units behind it. A figure "
        "with fewer than two annotators on any unit is 'not available', never 1.0. All of it is also given for "
        "the annotations made with and without a prediction shown. The adjudicated "
        "answer is the annotation flagged ground_truth in Label Studio.",
    )
    p.add_argument(
        "--annotators", help="comma-separated pseudonyms (or model/VERSION); default: the people (models apart)"
    )
    p.add_argument("--json", help="also write the full report (all pairs) as JSON to this file")
    p.add_argument("--disagreements", help="write the units the annotators disagree on as CSV to this file")
    p.set_defaults(func=run_agreement)


def run_agreement(args: argparse.Namespace) -> int:
    from builders.progress import gc_paused

    with gc_paused():
        return _agreement(args)


def _agreement(args: argparse.Namespace) -> int:
    from builders.build.agreement import agreement
    from builders.build.disagreements import disagreements, summary_table
    from builders.build.read import read_labels
    from builders.build.spans import SpanGroups
    from builders.corpus.records import load_corpus

    project = load_project(args.root)
    labels = read_labels(project, load_corpus(project))
    chosen = [a.strip() for a in args.annotators.split(",")] if args.annotators else None
    known = set(labels.units["annotator"])
    unknown = sorted(set(chosen or []) - known)
    if unknown:
        raise KhcError(
            Problem(
                f"unknown annotators {unknown}", record="--annotators", fix=f"choose from: {', '.join(sorted(known))}"
            )
        )
    groups = SpanGroups.of(labels.units, labels.spans)
    report = agreement(labels.units, labels.spans, chosen, pair_alpha=True, groups=groups)
    print(f"annotators: {', '.join(report['annotators']) or 'none'}")
    print(summary_table(report).to_string(index=False))
    for pair in report["pairs"]:
        f1 = pair["span_f1"]
        who = " + ".join(pair["annotators"])
        print(f"pair {who}: span F1 exact {_fig(f1['exact'])}, overlap {_fig(f1['overlap'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.disagreements:
        table = disagreements(labels.units, labels.spans, chosen, groups)
        table.to_csv(args.disagreements, index=False)
        print(f"wrote {args.disagreements}: {len(table)} units to adjudicate")
    return 0


def _fig(fig: dict) -> str:
    return f"{fig['value']:.3f} ({fig['units']} spans)" if fig["value"] is not None else "not available"


def add_schema(commands: Commands) -> None:
    p = commands.add_parser(
        "schema",
        help="check (or --write) the files generated from label schema v1",
        description="Check that annotations/labeling_config.xml and the label tables in "
        "annotations/guidelines.md match the schema declared in builders/schema.py; --write regenerates them.",
    )
    p.add_argument("--write", action="store_true", help="regenerate the derived files instead of checking")
    p.set_defaults(func=run_schema)


def run_schema(args: argparse.Namespace) -> int:
    from builders import derived

    project = load_project(args.root)
    if args.write:
        changed = derived.write(project)
        print("\n".join(f"wrote {c}" for c in changed) or "everything derived from the schema is current")
        return 0
    problems = derived.check(project)
    if problems:
        raise KhcError(problems)
    print("labeling config and guideline tables match schema v1")
    return 0
