"""`khc publish VERSION`: upload a folder that is exactly the release to the Hugging Face Hub
and tag that commit; a published tag is never overwritten."""

from __future__ import annotations

from pathlib import Path

from builders.corpus.records import sha256_file
from builders.errors import KhcError, Problem, fail
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
    files = [
        (p.relative_to(folder).as_posix(), p.stat().st_size, sha256_file(p))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]
    return f"v{version}", files


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
        delete_patterns=["*.parquet", "*.json", "*.md", "*.cff"],
    )
    api.create_tag(
        repo_id, tag=tag, revision=commit.oid, repo_type="dataset", tag_message=f"{project.pretty_name} {tag}"
    )
    return commit.oid
