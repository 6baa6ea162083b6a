"""Label Studio commands: `khc ls config | push | pull | serve`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from builders.cli.common import Commands
from builders.errors import KhcError, Problem
from builders.project import load_project


def add_ls(commands: Commands) -> None:
    ls = commands.add_parser("ls", help="Label Studio commands", description="Label Studio commands.")
    ls_commands = ls.add_subparsers(dest="ls_command", metavar="COMMAND")
    for add in (add_config, add_push, add_pull, add_import, add_serve):
        add(ls_commands)

    def usage(_args: argparse.Namespace) -> int:
        ls.print_help(sys.stderr)
        return 2

    ls.set_defaults(func=usage)


def connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="Label Studio address (default: $LABEL_STUDIO_URL)")
    p.add_argument(
        "--api-key",
        help="API token (default: $LABEL_STUDIO_API_KEY; prefer the variable: options show up in process lists)",
    )


def add_config(commands: Commands) -> None:
    p = commands.add_parser(
        "config",
        help="print the labeling config generated from the schema",
        description="Print the Label Studio labeling config (XML) generated from label schema v1.",
    )
    p.set_defaults(func=run_config)


def run_config(args: argparse.Namespace) -> int:
    from builders.labelstudio.labelconfig import labeling_config

    sys.stdout.write(labeling_config())
    return 0


def add_push(commands: Commands) -> None:
    p = commands.add_parser(
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
    connection_options(p)
    p.set_defaults(func=run_push)


def run_push(args: argparse.Namespace) -> int:
    from builders.labelstudio.connection import connect
    from builders.labelstudio.push import push

    project = load_project(args.root)
    result = push(project, connect(args.url, args.api_key), project_id=args.project_id, title=args.title)
    what = "created" if result.created else "updated"
    print(
        f"{what} project {result.project_id}: imported {result.imported_tasks} tasks and "
        f"{result.imported_predictions} predictions; {result.already_there} articles were there already"
    )
    if result.without_predictions:  # the prediction policy of khc.toml [labelstudio.predictions]
        print(f"{result.without_predictions} of the new tasks have no prediction, by the prediction policy")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def add_pull(commands: Commands) -> None:
    p = commands.add_parser(
        "pull",
        help="export what changed in a project into a new pseudonymised snapshot under annotations/exports/",
        description="Export the project in Label Studio's JSON format, replace annotators by stable "
        "pseudonyms and drop every other user reference before anything is written, and store it under "
        "annotations/exports/, recorded in snapshots.json. The first pull of a project is a full snapshot "
        "(project-ID-TIME.json); later pulls write a delta of the tasks changed since the last pull "
        "(project-ID-delta-TIME.json) with the annotations and predictions deleted since then. Never "
        "rewrites a snapshot; prints what changed since the previous one.",
    )
    p.add_argument("--project-id", type=int, required=True, help="the project to export")
    p.add_argument("--full", action="store_true", help="write a complete snapshot even if an earlier one exists")
    p.add_argument(
        "--compress", action="store_true", help="write the snapshot gzipped (.json.gz, the same JSON inside)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long one request to Label Studio may take (default: 60; a full export of a large project "
        "may need more)",
    )
    p.add_argument(
        "--pseudonym-map",
        help="where the email-hash → pseudonym map lives (default: "
        "$KHC_PSEUDONYM_MAP or ~/.config/khc/pseudonyms.json; keep it out of the repository)",
    )
    connection_options(p)
    p.set_defaults(func=run_pull)


def run_pull(args: argparse.Namespace) -> int:
    from builders.labelstudio.connection import connect
    from builders.labelstudio.pull import pull

    project = load_project(args.root)
    if args.timeout is not None and args.timeout <= 0:
        raise KhcError(Problem(f"--timeout {args.timeout:g} is not a positive number of seconds", fix="e.g. 300"))
    result = pull(
        project,
        connect(args.url, args.api_key, timeout=args.timeout),
        args.project_id,
        full=args.full,
        compress=args.compress,
        map_path=Path(args.pseudonym_map) if args.pseudonym_map else None,
    )
    for note in result.notes:
        print(f"note: {note}")
    if result.path is None:
        return 0
    print(
        f"wrote {project.rel(result.path)} ({result.coverage}): {result.tasks} tasks, {result.annotations} annotations"
    )
    changes = ", ".join(f"{n} {k}" for k, n in result.changes.items())
    print(f"since the last snapshot of project {args.project_id}: {changes}")
    return 0


def add_import(commands: Commands) -> None:
    p = commands.add_parser(
        "import",
        help="bring a JSON export downloaded from Label Studio's UI into annotations/exports/",
        description="Read a file exported with Label Studio's 'JSON' format, replace its users by the same "
        "pseudonyms a pull gives them (the server is asked who they are), embed the project's predictions, "
        "and write it as a recorded snapshot. It counts as a partial export (it adds and updates labels, never "
        "deletes them) unless --full says it holds the whole project.",
    )
    p.add_argument("file", help="the downloaded .json (or .json.gz) file")
    p.add_argument("--project-id", type=int, required=True, help="the project it was exported from")
    p.add_argument("--full", action="store_true", help="the file is an export of the whole project")
    p.add_argument("--pseudonym-map", help="as for khc ls pull")
    connection_options(p)
    p.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from builders.labelstudio.connection import connect
    from builders.labelstudio.importing import import_download

    project = load_project(args.root)
    result = import_download(
        project,
        connect(args.url, args.api_key),
        Path(args.file),
        args.project_id,
        full=args.full,
        map_path=Path(args.pseudonym_map) if args.pseudonym_map else None,
    )
    coverage = "full" if args.full else "partial"
    print(f"wrote {project.rel(result.path)} ({coverage}): {result.tasks} tasks, {result.annotations} annotations")
    return 0


def add_serve(commands: Commands) -> None:
    p = commands.add_parser(
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
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
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


def add_snapshots(commands: Commands) -> None:
    snapshots = commands.add_parser(
        "snapshots", help="commands on the snapshots under annotations/exports/", description="Snapshot commands."
    )
    sub = snapshots.add_subparsers(dest="snapshots_command", metavar="COMMAND")
    p = sub.add_parser(
        "compact",
        help="fold a project's full snapshot and the deltas (and imports) after it into one full snapshot",
        description="Merge every snapshot of the project as the build merges them (each annotation's newest "
        "version, none that was deleted; every task and prediction) into one full snapshot "
        "project-ID-compact-TIME.json, and remove the folded files from the folder and the index (git keeps "
        "them). The build makes the same dataset afterwards; commit the change.",
    )
    p.add_argument("--project-id", type=int, required=True, help="the Label Studio project whose snapshots to fold")
    p.add_argument("--compress", action="store_true", help="write the snapshot gzipped (.json.gz)")
    p.set_defaults(func=run_compact)

    def usage(_args: argparse.Namespace) -> int:
        snapshots.print_help(sys.stderr)
        return 2

    snapshots.set_defaults(func=usage)


def run_compact(args: argparse.Namespace) -> int:
    from builders.labelstudio.compact import compact

    project = load_project(args.root)
    result = compact(project, args.project_id, compress=args.compress)
    if result.path is None:
        print(f"project {args.project_id} has one snapshot: nothing to fold")
        return 0
    print(f"wrote {project.rel(result.path)} (full): {result.tasks} tasks, {result.annotations} annotations")
    print(f"folded and removed {len(result.folded)} snapshots: {', '.join(result.folded)}")
    return 0
