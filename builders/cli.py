"""The `khc` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from builders import __version__
from builders.errors import KhcError, Problem
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
  khc preannotate annotations/pilot/pilot-v1.yaml
  khc ls config             print the Label Studio labeling config
"""


def _cmd_build(args: argparse.Namespace) -> int:
    from builders.build.pipeline import build

    project = load_project(args.root)
    result = build(
        project,
        Path(args.out) if args.out else None,
        version=args.dataset_version,
        date=args.date,
        helper=not args.single_process,
        resplit=args.resplit,
    )
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


def _cmd_release(args: argparse.Namespace) -> int:
    from builders.release.release import release

    project = load_project(args.root)
    result = release(project, args.version, tag=args.tag)
    print(f"released {result.version} from commit {result.commit[:12]}: {project.rel(result.record)}, CHANGELOG.md")
    if args.tag:
        print(f"committed the record and tagged v{result.version}; push with: git push --follow-tags")
    else:
        print(f"now run:\n  {result.tag_command}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from builders.release.release import verify

    project = load_project(args.root)
    differences = verify(project, args.version, Path(args.out) if args.out else None)
    if differences:
        print(f"release {args.version} does NOT verify:", file=sys.stderr)
        for line in differences:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"release {args.version} verifies: every output's content matches the record")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from builders.release.release import publish, publish_plan

    project = load_project(args.root)
    folder = Path(args.folder) if args.folder else project.default_out
    repo_id = args.repo_id or project.repo_id
    tag, files = publish_plan(project, args.version, folder)
    if args.dry_run:
        print(f"would upload to https://huggingface.co/datasets/{repo_id} and tag {tag}:")
        for path, size, sha in files:
            print(f"  {path}  {size} bytes  sha256 {sha}")
        return 0
    commit = publish(project, args.version, repo_id, folder)
    print(f"published {args.version} to https://huggingface.co/datasets/{repo_id} (commit {commit[:12]}, tag {tag})")
    print(f'load it with: load_dataset("{repo_id}", "claims", revision="{tag}")')
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
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


def _cmd_preannotate(args: argparse.Namespace) -> int:
    from builders.labelstudio.preannotate import preannotate

    project = load_project(args.root)
    out = preannotate(project, Path(args.spec).resolve())
    tasks = json.loads(out.read_text(encoding="utf-8"))
    n_claims = sum(1 for t in tasks for r in t["predictions"][0]["result"] if r["from_name"] == "claim_type")
    print(f"wrote {project.rel(out)}: {len(tasks)} articles, {n_claims} claim spans (origin = model)")
    return 0


def _cmd_agreement(args: argparse.Namespace) -> int:
    from builders.progress import gc_paused

    with gc_paused():
        return _agreement(args)


def _agreement(args: argparse.Namespace) -> int:
    from builders.build.aggregate import SpanGroups
    from builders.build.agreement import agreement, disagreements, summary_table
    from builders.build.read import read_labels
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
        matching = pair["span_matching"]
        print(
            f"pair {' + '.join(pair['annotators'])}: span matching exact {_fig(matching['exact'])}, "
            f"overlap {_fig(matching['overlap'])}"
        )
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


def _cmd_ls_push(args: argparse.Namespace) -> int:
    from builders.labelstudio.connection import connect
    from builders.labelstudio.push import push

    project = load_project(args.root)
    result = push(project, connect(args.url, args.api_key), project_id=args.project_id, title=args.title)
    what = "created" if result.created else "updated"
    print(
        f"{what} project {result.project_id}: imported {result.imported_tasks} tasks and "
        f"{result.imported_predictions} predictions; {result.already_there} articles were there already"
    )
    return 0


def _cmd_ls_pull(args: argparse.Namespace) -> int:
    from builders.labelstudio.connection import connect
    from builders.labelstudio.pull import pull

    project = load_project(args.root)
    result = pull(
        project,
        connect(args.url, args.api_key),
        args.project_id,
        map_path=Path(args.pseudonym_map) if args.pseudonym_map else None,
    )
    print(f"wrote {project.rel(result.path)}: {result.tasks} tasks, {result.annotations} annotations")
    changes = ", ".join(f"{n} {k}" for k, n in result.changes.items())
    print(f"since the last snapshot of project {args.project_id}: {changes}")
    return 0


def _cmd_ls_serve(args: argparse.Namespace) -> int:
    import shutil
    import subprocess

    exe = shutil.which("label-studio", path=str(Path(sys.executable).parent)) or shutil.which("label-studio")
    if not exe:
        raise KhcError(
            Problem("the label-studio server is not installed", fix="pip install -c constraints.txt -e '.[server]'")
        )
    data_dir = Path(args.data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    print(f"Label Studio on http://127.0.0.1:{args.port} (data in {data_dir}); stop it with Ctrl-C.")
    print("Create your account in the browser, copy your access token (Account & Settings) and")
    print(f"export LABEL_STUDIO_URL=http://127.0.0.1:{args.port} LABEL_STUDIO_API_KEY=<token>")
    command = [
        exe,
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "--port",
        str(args.port),
        "--data-dir",
        str(data_dir),
        "--enable-legacy-api-token",  # so the access token works with label-studio-sdk as-is
    ]
    return subprocess.call(command)


def _connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="Label Studio address (default: $LABEL_STUDIO_URL)")
    p.add_argument(
        "--api-key",
        help="API token (default: $LABEL_STUDIO_API_KEY; prefer the variable: options show up in process lists)",
    )


def _cmd_ls_config(args: argparse.Namespace) -> int:
    from builders.labelstudio.labelconfig import labeling_config

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
    p.add_argument("--resplit", action="store_true", help="accept moved splits (a re-split: major version)")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser(
        "release",
        help="build a version and write its release record (releases/VERSION.json) and CHANGELOG entry",
        description="Refuse a dirty working tree, an existing version or one that does not increase; build "
        "the dataset as VERSION; write releases/VERSION.json (git commit, input hashes, output content hashes, "
        "figures, label changes since the previous release) and its CHANGELOG section; print the git commands "
        "to commit and tag it (or run them with --tag).",
    )
    p.add_argument(
        "version",
        help="MAJOR.MINOR.PATCH (major: schema or split change; minor: new articles or labels; patch: corrections)",
    )
    p.add_argument("--tag", action="store_true", help="commit the record and create the git tag vVERSION")
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser(
        "verify",
        help="rebuild a release from its recorded commit and check its content hashes",
        description="Check out the release's recorded commit in a temporary git worktree, rebuild it with that "
        "commit's code, and compare the content of every output (tables by rows and features, not Parquet "
        "bytes) with the release record.",
    )
    p.add_argument("version")
    p.add_argument("--out", help="keep the rebuilt folder here (e.g. dist/, before khc publish)")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser(
        "publish",
        help="upload a verified release to the Hugging Face Hub and tag it",
        description="Upload exactly the built folder to a Hugging Face dataset repo (huggingface_hub "
        "upload_folder), then tag that commit vVERSION, so load_dataset(REPO, revision='vVERSION') pins data "
        "and card together. Refuses a folder that does not verify against the release record, and a tag that "
        "exists on the Hub. Needs a network and a token (HF_TOKEN or `hf auth login`); --dry-run needs neither.",
    )
    p.add_argument("version")
    p.add_argument("--repo-id", help="ORG/NAME (default: repo_id in khc.toml)")
    p.add_argument("--folder", help="the built folder (default: dist/)")
    p.add_argument("--dry-run", action="store_true", help="list what would be uploaded and tagged; touch nothing")
    p.set_defaults(func=_cmd_publish)

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
    p.add_argument("--allow-near-duplicate", metavar="REASON", help="ingest a near-duplicate anyway (reason recorded)")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser(
        "preannotate",
        help="turn a YAML pre-annotation spec into Label Studio predictions",
        description="Read a YAML file of pre-annotations (per article: claims as [claim_type, evidence, "
        "quote], and the article-level answers), find every quote in the corpus, check every value "
        "against the schema, and write annotations/predictions/<model_version>.json. Pre-annotations "
        "are model labels (origin = model) for annotators to correct, never human labels.",
    )
    p.add_argument("spec", help="the YAML spec, e.g. annotations/pilot/pilot-v1.yaml")
    p.set_defaults(func=_cmd_preannotate)

    p = sub.add_parser(
        "agreement",
        help="inter-annotator agreement and a disagreement list for adjudication",
        description="Agreement between annotators (humans, and models as annotators) on the units they "
        "share: span matching (exact and IoU >= 0.5), Krippendorff's alpha for claim_type (nominal), "
        "evidence (ordinal, not_applicable left out), each risk-disclosure item and the two article "
        "criteria, and Cohen's kappa for every pair, each with the number of units behind it. A figure "
        "with fewer than two annotators on any unit is 'not available', never 1.0. The adjudicated "
        "answer is the annotation flagged ground_truth in Label Studio.",
    )
    p.add_argument("--annotators", help="comma-separated pseudonyms (or model/VERSION); default: everyone")
    p.add_argument("--json", help="also write the full report (all pairs) as JSON to this file")
    p.add_argument("--disagreements", help="write the units the annotators disagree on as CSV to this file")
    p.set_defaults(func=_cmd_agreement)

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

    p = ls_sub.add_parser(
        "push",
        help="create or update the Label Studio project: config, guidelines, tasks, pre-annotations",
        description="Create the project (labeling config from the schema, guidelines as instructions) or "
        "check an existing one's config and refuse with a diff if it differs; import one task per article "
        "the project does not hold yet, with article_id, text_sha256 and guideline version in the task "
        "data, and every pre-annotation as a prediction with its model_version. Safe to run again.",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--project-id", type=int, help="an existing project")
    group.add_argument(
        "--title", help="the project's title; created if no project has it (default: the dataset's pretty name)"
    )
    _connection_options(p)
    p.set_defaults(func=_cmd_ls_push)

    p = ls_sub.add_parser(
        "pull",
        help="export a project into a new pseudonymised snapshot under annotations/exports/",
        description="Export the project in Label Studio's full JSON format, replace annotators by stable "
        "pseudonyms and drop every other user reference before anything is written, and store it as "
        "annotations/exports/project-ID-TIMESTAMP.json. Never rewrites a snapshot; prints what changed "
        "since the previous one.",
    )
    p.add_argument("--project-id", type=int, required=True, help="the project to export")
    p.add_argument(
        "--pseudonym-map",
        help="where the email-hash → pseudonym map lives (default: "
        "$KHC_PSEUDONYM_MAP or ~/.config/khc/pseudonyms.json; keep it out of the repository)",
    )
    _connection_options(p)
    p.set_defaults(func=_cmd_ls_pull)

    p = ls_sub.add_parser(
        "serve",
        help="start a local Label Studio on 127.0.0.1 for annotating on your own machine",
        description="Start the Label Studio server (installed by the 'server' extra) on 127.0.0.1 with its "
        "data outside the repository.",
    )
    p.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    p.add_argument(
        "--data-dir",
        default="~/.local/share/khc-label-studio",
        help="Label Studio's data folder (default: ~/.local/share/khc-label-studio)",
    )
    p.set_defaults(func=_cmd_ls_serve)
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
