"""The `khc` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from builders import __version__
from builders.errors import KhcError
from builders.project import load_project

DESCRIPTION = """\
Build the ketamine-health-claims dataset: web articles making health claims about
ketamine therapy, labelled in Label Studio (claim type, evidence quality, risk
disclosure), written as Parquet splits in the Hugging Face dataset layout.

khc works on the project folder it is run in (the nearest folder with khc.toml),
like git; --root DIR names another.
"""

EPILOG = """\
typical use:
  khc build                 build dist/ from the committed corpus and annotations
  khc ingest article.html --url https://... --title "..."
  khc ls config             print the Label Studio labeling config
"""


def _cmd_build(args: argparse.Namespace) -> int:
    from builders.build import build

    project = load_project(args.root)
    result = build(project, Path(args.out) if args.out else None)
    print(f"built {project.rel(result.out) if result.out.is_relative_to(project.root) else result.out}")
    for path, n in sorted(result.rows.items()):
        print(f"  {path}: {n} rows")
    print("counts (dropped, repaired, decided):")
    for key, value in sorted(result.counts.items()):
        if value:
            print(f"  {key}: {value}")
    if result.new_split_assignments:
        print(f"assigned {len(result.new_split_assignments)} new articles to splits in corpus/splits.csv; commit it")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from builders.corpus import ingest

    project = load_project(args.root)
    conditions = [c.strip() for c in args.conditions.split(",")] if args.conditions else None
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
    )
    print(f"added {record['article_id']} ({len(record['text'])} characters) from {record['source_file']}")
    for removal in record["cleaning"]:
        print(f"  cleaned by {removal['rule']}: line {removal['line']}: {removal['text']}")
    for flag in record["flags"]:
        print(f"  flagged {flag['rule']}: line {flag['line']} repeats line {flag['repeats_line']}")
    print(f"  conditions ({record['conditions_rule']}): {', '.join(record['conditions']) or 'none'}")
    return 0


def _cmd_ls_config(args: argparse.Namespace) -> int:
    from builders.labelconfig import labeling_config

    sys.stdout.write(labeling_config())
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="khc", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    top.add_argument("--root", type=Path, help="project folder (default: nearest folder with khc.toml)")
    top.add_argument("--version", action="version", version=f"khc {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "build",
        help="build the dataset (Parquet splits, card, manifest) from corpus/ and annotations/",
        description="Read corpus/ and every Label Studio export under annotations/, validate, aggregate "
        "the labels, split per article and write the Hugging Face dataset folder. Nothing is "
        "written unless everything validates; the old output is replaced only when the new one is complete.",
    )
    p.add_argument("--out", help="output folder (default: dist/ in the project)")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser(
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
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser(
        "schema",
        help="check (or --write) the files generated from label schema v1",
        description="Check that annotations/labeling_config.xml and the label tables in "
        "annotations/guidelines.md match the schema declared in builders/schema.py; --write regenerates them.",
    )
    p.add_argument("--write", action="store_true", help="regenerate the derived files instead of checking")
    p.set_defaults(func=_cmd_schema)

    ls = sub.add_parser("ls", help="Label Studio commands", description="Label Studio commands.")
    ls_sub = ls.add_subparsers(dest="ls_command", metavar="COMMAND")
    p = ls_sub.add_parser(
        "config",
        help="print the labeling config generated from the schema",
        description="Print the Label Studio labeling config (XML) generated from label schema v1.",
    )
    p.set_defaults(func=_cmd_ls_config)
    ls.set_defaults(func=lambda args: _usage(ls))
    top.set_defaults(func=lambda args: _usage(top))
    return top


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KhcError as exc:
        print(f"khc: error:\n{exc}", file=sys.stderr)
        print("nothing was written.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
