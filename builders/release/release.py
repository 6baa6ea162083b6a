"""Versioned releases: `khc release`, `khc verify`, `khc publish`.

A release record `releases/VERSION.json` holds what a researcher needs to get exactly that
data back years later: the git commit it was built from, the sha256 of every input, and
the *content* hashes of every output (tables hashed by their rows and features, not their
Parquet bytes, which carry the writer's version). `khc verify` rebuilds the release from
its commit in a git worktree and compares those hashes.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from builders.build.pipeline import build
from builders.corpus.records import sha256_file
from builders.errors import KhcError, Problem, fail
from builders.features import label_names
from builders.project import Project

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# Files whose bytes depend on tool versions rather than content: the manifest lists tool
# versions, and Croissant carries the Parquet files' byte hashes.
NOT_CONTENT = {"manifest.json"}


def parse_version(version: str) -> tuple[int, int, int]:
    match = SEMVER.match(version)
    if not match:
        fail(
            f"{version!r} is not a version of the form MAJOR.MINOR.PATCH",
            fix="major: schema or split change; minor: new articles or labels; patch: corrections",
        )
    return tuple(int(x) for x in match.groups())  # type: ignore[return-value]


def git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    except FileNotFoundError:
        fail("git is not installed", fix="install git; releases are tied to git commits")
    except subprocess.CalledProcessError as exc:
        fail(
            f"git {' '.join(args)} failed: {exc.stderr.strip()}",
            file=str(root),
            fix="run khc in a git checkout of the project",
        )
    return result.stdout.strip()


def content_hash(path: Path) -> str:
    """sha256 of a file's content: a Parquet table by its rows and HF features, else its bytes."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        digest = hashlib.sha256()
        digest.update((table.schema.metadata or {}).get(b"huggingface", b""))
        digest.update(json.dumps(table.to_pylist(), sort_keys=True, ensure_ascii=False, default=str).encode())
        return "table:" + digest.hexdigest()
    if path.name == "croissant.json":  # drop the byte hashes of the Parquet files it lists
        document = json.loads(path.read_text(encoding="utf-8"))
        for item in document.get("distribution", []):
            item.pop("sha256", None)
        return "json:" + hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    return "bytes:" + sha256_file(path)


def content_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): content_hash(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in NOT_CONTENT
    }


def record_path(project: Project, version: str) -> Path:
    return project.releases_dir / f"{version}.json"


def releases(project: Project) -> list[str]:
    found = [p.stem for p in project.releases_dir.glob("*.json")] if project.releases_dir.exists() else []
    return sorted((v for v in found if SEMVER.match(v)), key=parse_version)


def label_index(folder: Path) -> dict[str, dict[str, str]]:
    """Compact view of the labels ("value|origin" by claim or article), for the next release's diff."""
    index: dict[str, dict[str, str]] = {
        "claim_type": {},
        "evidence": {},
        "risk_disclosures": {},
        "harms_explained": {},
        "evidence_explained": {},
    }
    origins = label_names("claims", "origin")
    for config, keys in (
        ("claims", ("claim_type", "evidence")),
        ("articles", ("risk_disclosures", "harms_explained", "evidence_explained")),
    ):
        names = {name: label_names(config, name) for name in keys}
        for path in sorted((folder / config).glob("*.parquet")):
            for row in pq.read_table(path).to_pylist():
                if config == "articles" and not row["labeled"]:
                    continue
                key = row["claim_id"] if config == "claims" else row["article_id"]
                for name in keys:
                    value = row[name]
                    if isinstance(value, list):
                        shown = ",".join(names[name][v] for v in value)
                    else:
                        shown = names[name][value] if value is not None else ""
                    index[name][key] = f"{shown}|{origins[row['origin']]}"
    return index


def label_changes(old: dict | None, new: dict) -> dict[str, dict[str, int]]:
    changes = {}
    for family, labels in new.items():
        before = (old or {}).get(family, {})
        changes[family] = {
            "added": len(set(labels) - set(before)),
            "changed": sum(1 for k in set(labels) & set(before) if labels[k] != before[k]),
            "removed": len(set(before) - set(labels)),
        }
    return changes


def figures_of(manifest: dict, index: dict) -> dict:
    rows = Counter()
    for path, info in manifest["outputs"].items():
        if "rows" in info:
            rows[path.split("/")[0]] += info["rows"]
    origins = Counter(v.rsplit("|", 1)[1] for v in index["claim_type"].values())
    return {
        "articles": rows["articles"],
        "claims": rows["claims"],
        "annotations": rows["annotations"],
        "origin_human": str(origins.get("0", 0)),
        "origin_model": str(origins.get("1", 0)),
    }


@dataclass
class ReleaseResult:
    version: str
    record: Path
    commit: str
    tag_command: str


def release(project: Project, version: str, *, tag: bool = False) -> ReleaseResult:
    new = parse_version(version)
    existing = releases(project)
    if version in existing:
        fail(
            f"version {version} is released already",
            file=project.rel(record_path(project, version)),
            fix="a published version is never rebuilt under the same number: choose the next version",
        )
    if existing and new <= parse_version(existing[-1]):
        fail(f"version {version} does not come after the latest release {existing[-1]}", fix="versions only increase")
    dirty = git(project.root, "status", "--porcelain")
    if dirty:
        fail(
            f"the working tree has uncommitted changes:\n{dirty}",
            file=str(project.root),
            fix="commit or stash them: a release must be rebuildable from its commit",
        )
    commit = git(project.root, "rev-parse", "HEAD")
    date = git(project.root, "show", "-s", "--format=%cs", "HEAD")
    out = project.default_out
    build(project, out, version=version, date=date)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    index = label_index(out)
    previous = json.loads(record_path(project, existing[-1]).read_text()) if existing else None
    record = {
        "version": version,
        "git_commit": commit,
        "date": date,
        "schema_version": manifest["schema_version"],
        "guideline_version": manifest["guideline_version"],
        "inputs": manifest["inputs"],
        "outputs": content_hashes(out),
        "tools": manifest["tools"],
        "figures": figures_of(manifest, index),
        "label_changes": label_changes(previous.get("labels") if previous else None, index),
        "previous": existing[-1] if existing else None,
        "labels": index,
    }
    path = record_path(project, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    update_changelog(project, record)
    tag_name = f"v{version}"
    command = (
        f"git add {project.rel(path)} CHANGELOG.md && git commit -m 'Release {tag_name}' && "
        f"git tag -a {tag_name} -m '{project.pretty_name} {tag_name}'"
    )
    if tag:
        git(project.root, "add", project.rel(path), "CHANGELOG.md")
        git(project.root, "commit", "-m", f"Release {tag_name}")
        git(project.root, "tag", "-a", tag_name, "-m", f"{project.pretty_name} {tag_name}")
    return ReleaseResult(version=version, record=path, commit=commit, tag_command=command)


def update_changelog(project: Project, record: dict) -> None:
    path = project.root / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Changelog\n\n## Unreleased\n"
    f = record["figures"]
    lines = [
        f"## {record['version']} ({record['date']})",
        "",
        f"Built from commit `{record['git_commit'][:12]}`; schema v{record['schema_version']}, guidelines "
        f"{record['guideline_version']}. Figures computed by the build: {f['articles']} articles, {f['claims']} "
        f"claims ({f['origin_human']} with human labels, {f['origin_model']} with model labels), "
        f"{f['annotations']} raw annotations.",
        "",
        f"Label changes since {record['previous'] or 'the start'} (added / changed / removed):",
        "",
        *[
            f"- `{family}`: {c['added']} / {c['changed']} / {c['removed']}"
            for family, c in record["label_changes"].items()
        ],
        "",
    ]
    marker = "## Unreleased"
    section = "\n".join(lines)
    if marker in text:  # the notes gathered under Unreleased move under the new version
        head, rest = text.split(marker, 1)
        notes, sep, after = rest.partition("\n## ")
        text = f"{head}{marker}\n\n{section}\n{notes.strip(chr(10))}\n" + (f"\n## {after}" if sep else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def load_record(project: Project, version: str) -> dict:
    path = record_path(project, version)
    if not path.exists():
        fail(
            f"no release {version}",
            file=project.rel(path),
            fix=f"known releases: {', '.join(releases(project)) or 'none'}",
        )
    return json.loads(path.read_text(encoding="utf-8"))


def compare(expected: dict[str, str], found: dict[str, str]) -> list[str]:
    problems = [f"{p}: missing" for p in sorted(set(expected) - set(found))]
    problems += [f"{p}: not in the release" for p in sorted(set(found) - set(expected))]
    problems += [f"{p}: content differs" for p in sorted(set(expected) & set(found)) if expected[p] != found[p]]
    return problems


def verify(project: Project, version: str, out: Path | None = None) -> list[str]:
    """Rebuild `version` from its recorded commit; return the differences (empty: verified)."""
    record = load_record(project, version)
    with tempfile.TemporaryDirectory(prefix="khc-verify-") as tmp:
        tree = Path(tmp) / "tree"
        git(project.root, "worktree", "add", "--detach", str(tree), record["git_commit"])
        try:
            target = (out or Path(tmp) / "out").resolve()
            # The old commit's own code builds it: `-m builders.cli` from the worktree.
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "builders.cli",
                    "--root",
                    str(tree),
                    "build",
                    "--out",
                    str(target),
                    "--dataset-version",
                    version,
                    "--date",
                    record["date"],
                ],
                cwd=tree,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise KhcError(
                    Problem(
                        f"rebuilding {version} from {record['git_commit'][:12]} failed:\n{result.stderr[-2000:]}",
                        fix="see the error above",
                    )
                )
            return compare(record["outputs"], content_hashes(target))
        finally:
            git(project.root, "worktree", "remove", "--force", str(tree))


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
