"""Release commands: release, verify, publish."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import ClassVar

from builders.cli.common import Commands
from builders.errors import KhcError, Problem, is_network_error, scrub
from builders.project import load_project


def add_release(commands: Commands) -> None:
    p = commands.add_parser(
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
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="release a build that leaves out unreadable annotations (as khc build --skip-invalid); the "
        "release record lists each one. Without it a release refuses any annotation it cannot read",
    )
    p.set_defaults(func=run_release)


def run_release(args: argparse.Namespace) -> int:
    from builders.release.release import release

    project = load_project(args.root)
    result = release(project, args.version, tag=args.tag, skip_invalid=args.skip_invalid)
    print(f"released {result.version} from commit {result.commit[:12]}: {project.rel(result.record)}, CHANGELOG.md")
    if args.tag:
        print(f"committed the record and tagged v{result.version}; push with: git push --follow-tags")
    else:
        print(f"now run:\n  {result.tag_command}")
    return 0


def add_verify(commands: Commands) -> None:
    p = commands.add_parser(
        "verify",
        help="rebuild a release from its recorded commit and check its content hashes",
        description="Check out the release's recorded commit in a temporary git worktree, rebuild it with that "
        "commit's code, and compare the content of every output (tables by rows and features, not Parquet "
        "bytes) with the release record.",
    )
    p.add_argument("version")
    p.add_argument("--out", help="keep the rebuilt folder here (e.g. dist/, before khc publish)")
    p.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from builders.release.verify import verify

    project = load_project(args.root)
    differences = verify(project, args.version, Path(args.out) if args.out else None)
    if differences:
        print(f"release {args.version} does NOT verify:", file=sys.stderr)
        for line in differences:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"release {args.version} verifies: every output's content matches the record")
    return 0


def add_publish(commands: Commands) -> None:
    p = commands.add_parser(
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
    p.set_defaults(func=run_publish)


def run_publish(args: argparse.Namespace) -> int:
    from builders.release.publish import DELETE_PATTERNS, check_repo_id, publish, publish_plan, require_token

    project = load_project(args.root)
    folder = Path(args.folder) if args.folder else project.default_out
    repo_id = args.repo_id or project.repo_id
    if repo_id is None and not args.dry_run:
        raise KhcError(
            Problem(
                "no Hugging Face repo to publish to: khc.toml sets no [dataset] repo_id",
                "khc.toml",
                fix="pass --repo-id OWNER/NAME of an existing Hub repo (or set repo_id), then run khc publish again",
            )
        )
    if repo_id is not None:
        check_repo_id(repo_id)
    tag, files = publish_plan(project, args.version, folder)
    if args.dry_run:
        _print_plan(project.rel(folder), repo_id, tag, files, args.version, DELETE_PATTERNS)
        return 0
    require_token(repo_id, args.version)
    commit = publish(project, args.version, repo_id, folder, api=Hub(repo_id, tag))
    print(f"published {args.version} to https://huggingface.co/datasets/{repo_id} (commit {commit[:12]}, tag {tag})")
    print(f'load it with: load_dataset("{repo_id}", "claims", revision="{tag}")')
    return 0


def _print_plan(shown: str, repo_id: str | None, tag: str, files: list, version: str, deletes: list[str]) -> None:
    """What `khc publish` would send, file by file; touches nothing (no network, no token)."""
    if repo_id is None:
        print(
            "khc.toml sets no repo_id: the project has no Hugging Face repo yet, so `khc publish "
            f"{version}` would refuse; pass --repo-id OWNER/NAME of an existing repo (or set repo_id in khc.toml)"
        )
    where = f"https://huggingface.co/datasets/{repo_id}" if repo_id else "a Hub dataset repo"
    total = sum(size for _path, size, _sha in files)
    print(
        f"would upload {len(files)} files ({total} bytes) from {shown}/ to {where} in one commit, "
        f"then create the tag {tag}:"
    )
    for path, size, sha in files:
        print(f"  {path}  {size} bytes  sha256 {sha}")
    print(f"files of the repo matching {', '.join(deletes)} that are not listed here are deleted in that commit")


class Hub:
    """`HfApi` whose network and HTTP failures become messages naming the Hub and the step."""

    STEPS: ClassVar[dict[str, tuple[str, str]]] = {
        "create_repo": ("looked up (or created) the dataset repo", "nothing was uploaded"),
        "list_repo_refs": ("listed the repo's tags", "nothing was uploaded"),
        "upload_folder": ("uploaded the files", "no tag was made"),
        "create_tag": ("tagged the upload", "the files are uploaded but not tagged"),
    }

    def __init__(self, repo_id: str, tag: str):
        from huggingface_hub import HfApi, constants

        self.api = HfApi()  # token from HF_TOKEN or the hub's login; never printed here
        self.endpoint, self.repo_id, self.tag = constants.ENDPOINT, repo_id, tag

    def __getattr__(self, name: str):
        method = getattr(self.api, name)

        def call(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                problem = self._problem(name, exc)
                if problem is None:
                    raise
                raise KhcError(problem) from exc

        return call

    def _problem(self, name: str, exc: Exception) -> Problem | None:
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

        step, state = self.STEPS.get(name, (name, "the Hub may hold part of the upload"))
        again = f"run `khc publish {self.tag.removeprefix('v')}` again (a tag is made only after a complete upload)"
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if isinstance(exc, HfHubHTTPError) and status in (401, 403):
            return Problem(
                f"the Hugging Face Hub at {self.endpoint} refused the token (HTTP {status}) when khc {step} "
                f"of {self.repo_id}; {state}",
                fix=f"set HF_TOKEN to a token with write access to {self.repo_id} (or `hf auth login`), then {again}",
            )
        if isinstance(exc, HfHubHTTPError):
            return Problem(
                f"the Hugging Face Hub at {self.endpoint} answered HTTP {status} when khc {step} of "
                f"{self.repo_id}: {scrub(str(exc))[:300]}; {state}",
                fix=f"check the repo id and your rights, then {again}",
            )
        if isinstance(exc, OfflineModeIsEnabled):
            return Problem(
                f"huggingface_hub is in offline mode (HF_HUB_OFFLINE is set) when khc {step} of {self.repo_id}; "
                f"{state}",
                fix=f"unset HF_HUB_OFFLINE, then {again}",
            )
        if is_network_error(exc):
            return Problem(
                f"the Hugging Face Hub at {self.endpoint} could not be reached ({type(exc).__name__}) when khc "
                f"{step} of {self.repo_id}; {state}",
                fix=f"check the network connection (and HF_ENDPOINT if you set it), then {again}",
            )
        return None
