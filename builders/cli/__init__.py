"""The `khc` command line: the top-level parser, and the one handler that turns every error
into `khc: error: …`. Each command's arguments sit beside the function that runs it, in one
module per area: `data` (build, ingest, preannotate, agreement, schema), `releases` (release,
verify, publish) and `labelstudio` (ls config, push, pull, serve)."""

from __future__ import annotations

import argparse
import os
import select
import sys
import traceback
from pathlib import Path

from builders import __version__
from builders.cli import data, labelstudio, releases
from builders.errors import explain, scrub
from builders.model.cli import add_model_commands

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

# In the order `khc --help` lists them.
COMMANDS = (
    data.add_build,
    releases.add_release,
    releases.add_verify,
    releases.add_publish,
    data.add_ingest,
    data.add_preannotate,
    data.add_agreement,
    data.add_schema,
    labelstudio.add_ls,
    labelstudio.add_snapshots,  # khc snapshots compact
    add_model_commands,  # khc model train|evaluate|backend (builders/model/cli.py)
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="khc", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    top.add_argument("--root", type=Path, help="project folder (default: nearest folder with khc.toml)")
    top.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    top.add_argument("--version", action="version", version=f"khc {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    top.set_defaults(func=lambda args: usage(top))
    return top


def usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run one command; every error that reaches here becomes one `khc: error:` message."""
    args = parser().parse_args(argv)
    debug = args.debug or os.environ.get("KHC_DEBUG") == "1"
    try:
        code = args.func(args)
        sys.stdout.flush()  # a reader that went away shows up here, not at interpreter exit
        return code
    except KeyboardInterrupt:
        print("khc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError as exc:
        if not _stdout_is_broken():
            return _report(exc, debug)
        _silence_stdout()
        return 1
    except Exception as exc:
        return _report(exc, debug)


def _report(exc: Exception, debug: bool) -> int:
    if debug:
        sys.stderr.write(scrub("".join(traceback.format_exception(exc))))
    print(explain(exc), file=sys.stderr)
    return 1


def _stdout_is_broken() -> bool:
    """Whether the reader of our stdout went away (`khc ingest FILE | head -1`), as opposed to
    a pipe of our own (a helper process) breaking, which is an error worth a message."""
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _fd, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no real file descriptor (e.g. under pytest)
        return False


def _silence_stdout() -> None:
    """The Python docs' recipe: point stdout at devnull so the flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
