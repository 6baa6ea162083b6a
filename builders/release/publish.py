"""`khc publish VERSION`: upload a folder that is exactly the release to the Hugging Face Hub
and tag that commit; a published tag is never overwritten."""

from __future__ import annotations

from pathlib import Path

from builders.corpus.records import sha256_file
from builders.errors import KhcError, Problem, fail, partly_done
from builders.project import Project
from builders.release.content import compare, content_hashes
from builders.release.release import load_record


def publish_plan(project: Project, version: str, folder: Path) -> tuple[str, list[tuple[str, int, str]]]:
    """Refuse a folder that is not exactly the release; return the tag and the file list."""
    record = load_record(project, version)
    if not folder.is_dir():
        fail("no built folder here", file=str(folder), fix=f"run `khc verify {version} --out {folder}` first")
    differences = compare(record["outputs"], content_hashes(folder))
    if differences:
        raise KhcError(
            Problem(
                f"the folder is not release {version}: " + "; ".join(differences[:10]),
                file=str(folder),
                fix=f"rebuild it with `khc verify {version} --out {folder}`",
            )
        )
    return f"v{version}", upload_files(folder)


def upload_files(folder: Path) -> list[tuple[str, int, str]]:
    """(path in the repo, size, sha256) of every file `upload_folder` sends from `folder`: all files
    but those huggingface_hub always leaves out (its DEFAULT_IGNORE_PATTERNS: `.git/`, `.cache/huggingface/`)."""
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

    paths = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    kept = filter_repo_objects(list(paths), ignore_patterns=DEFAULT_IGNORE_PATTERNS)
    return [(rel, paths[rel].stat().st_size, sha256_file(paths[rel])) for rel in kept]


# Hub files a new upload replaces: one of these the release lacks is deleted in the same commit.
DELETE_PATTERNS = ["*.parquet", "*.json", "*.md", "*.cff"]


def check_repo_id(repo_id: str) -> None:
    """Refuse what the Hub would refuse as a repo id, before anything is sent."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
        valid = repo_id.count("/") == 1
    except HFValidationError:
        valid = False
    if not valid:
        fail(
            f"{repo_id!r} is not a Hugging Face repo id",
            fix="pass --repo-id OWNER/NAME (letters, digits, '-', '_' and '.'), or set repo_id in khc.toml",
        )


def require_token(repo_id: str, version: str) -> None:
    """Refuse before any network call when huggingface_hub finds no token (HF_TOKEN or a login)."""
    from huggingface_hub import get_token
    from huggingface_hub.errors import OIDCError

    try:
        found = get_token()  # HF_TOKEN, then the token file of `hf auth login`; never printed
    except OIDCError as exc:  # HF_OIDC_RESOURCE set, but its token exchange failed
        fail(
            f"no Hugging Face token: the OIDC token exchange failed ({type(exc).__name__})",
            fix=_GIVE_TOKEN.format(repo_id, version),
        )
    if not found:
        fail("no Hugging Face token: khc publish needs one to upload", fix=_GIVE_TOKEN.format(repo_id, version))


_GIVE_TOKEN = (
    "set HF_TOKEN to a token with write access to {0} (https://huggingface.co/settings/tokens) or run "
    "`hf auth login`, then run `khc publish {1}` again"
)


def publish(project: Project, version: str, repo_id: str, folder: Path, *, api=None) -> str:
    """Upload `folder` to the dataset repo and tag that commit; returns the commit id."""
    tag, _files = publish_plan(project, version, folder)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()  # token from HF_TOKEN or the hub's login; never printed here
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    tags = {t.name for t in api.list_repo_refs(repo_id, repo_type="dataset").tags}
    if tag in tags:
        fail(f"{repo_id} has a tag {tag} already", fix="a published version is never overwritten: release the next one")
    commit = api.upload_folder(
        repo_id=repo_id,
        repo_type="dataset",
        folder_path=str(folder),
        commit_message=f"{project.pretty_name} {tag}",
        delete_patterns=DELETE_PATTERNS,
    )
    uploaded = [f"https://huggingface.co/datasets/{repo_id}: commit {commit.oid} holds the files of {folder}"]
    again = (
        f"run `khc publish {version}` again: the files are on the Hub already, so it uploads nothing new and "
        f"tags them (or tag commit {commit.oid} as {tag} on the Hub)"
    )
    with partly_done(uploaded, again):
        api.create_tag(
            repo_id, tag=tag, revision=commit.oid, repo_type="dataset", tag_message=f"{project.pretty_name} {tag}"
        )
    return commit.oid
