"""`khc release VERSION`: the release record and its CHANGELOG section.

A release record `releases/VERSION.json` holds what a researcher needs to get exactly that
data back years later: the git commit it was built from, the sha256 of every input, and
the *content* hashes of every output (release/content.py). `khc verify` (release/verify.py)
rebuilds the release from its commit and compares those hashes; `khc publish`
(release/publish.py) uploads a folder that matches them.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from builders.build.pipeline import build
from builders.errors import fail, partly_done
from builders.files import write_whole
from builders.lock import locked
from builders.project import Project
from builders.release.content import content_hashes
from builders.release.labels import figures_of, label_changes, label_index

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


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


def record_path(project: Project, version: str) -> Path:
    return project.releases_dir / f"{version}.json"


def releases(project: Project) -> list[str]:
    found = [p.stem for p in project.releases_dir.glob("*.json")] if project.releases_dir.exists() else []
    return sorted((v for v in found if SEMVER.match(v)), key=parse_version)


@dataclass
class ReleaseResult:
    version: str
    record: Path
    commit: str
    tag_command: str


@locked("khc release")  # it writes the record, CHANGELOG.md, corpus/splits.csv and dist/
def release(project: Project, version: str, *, tag: bool = False, skip_invalid: bool = False) -> ReleaseResult:
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
    # Strict by default: a build that would leave annotations out fails here; with skip_invalid the
    # record lists every annotation left out, so a citation says what the release does not hold.
    build(project, out, version=version, date=date, skip_invalid=skip_invalid)
    written = [f"{project.rel(out)}/: the build of {version} (replaced on the next build)"]
    path = record_path(project, version)
    retry = (  # the record is there and CHANGELOG.md as it was
        f"remove {project.rel(path)} (a version with a record is refused as released; CHANGELOG.md is "
        f"unchanged), then run the same `khc release {version}` again"
    )
    with partly_done(written, lambda: retry if written[-1].endswith("the release record") else None):
        refuse_files_the_build_wrote(project)
        record = release_record(project, version, commit, date, existing)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(path, json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(f"{project.rel(path)}: the release record")
        update_changelog(project, record)
        written.append(f"CHANGELOG.md: the section of {version}")
    tag_name = f"v{version}"
    command = (
        f"git add {project.rel(path)} CHANGELOG.md && git commit -m 'Release {tag_name}' && "
        f"git tag -a {tag_name} -m '{project.pretty_name} {tag_name}'"
    )
    if tag:
        with partly_done(written, lambda: f"finish the release by hand: {command_left(written, command)}"):
            git(project.root, "add", project.rel(path), "CHANGELOG.md")
            git(project.root, "commit", "-m", f"Release {tag_name}")
            written.append(f"git commit {git(project.root, 'rev-parse', '--short', 'HEAD')} 'Release {tag_name}'")
            git(project.root, "tag", "-a", tag_name, "-m", f"{project.pretty_name} {tag_name}")
    return ReleaseResult(version=version, record=path, commit=commit, tag_command=command)


def command_left(written: list[str], command: str) -> str:
    """The part of `git add … && git commit … && git tag …` still to run once `written` is done."""
    return command.split(" && ", 2)[2] if written[-1].startswith("git commit") else command


def release_record(project: Project, version: str, commit: str, date: str, existing: list[str]) -> dict:
    """The record of a release whose build is in dist/ (see the module's docstring)."""
    out = project.default_out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    skipped = json.loads((out / "build_report.json").read_text(encoding="utf-8")).get("skipped_invalid", [])
    index = label_index(out)
    previous = json.loads(record_path(project, existing[-1]).read_text()) if existing else None
    return {
        "version": version,
        "git_commit": commit,
        "date": date,
        "schema_version": manifest["schema_version"],
        "guideline_version": manifest["guideline_version"],
        "inputs": manifest["inputs"],
        "outputs": content_hashes(out),
        "tools": manifest["tools"],
        "figures": figures_of(manifest, out),
        "label_changes": label_changes(previous.get("labels") if previous else None, index),
        "previous": existing[-1] if existing else None,
        "labels": index,
        # the split of every article, which later builds are checked against (never moved)
        "splits": manifest.get("splits", {}),
        **({"skipped_invalid": skipped} if skipped else {}),
    }


def refuse_files_the_build_wrote(project: Project) -> None:
    """The build assigns a new article its fold (and a split if it has none) in committed files; a
    release of a commit without them could not be rebuilt to the same splits and folds."""
    written = git(project.root, "status", "--porcelain")
    if written:
        fail(
            f"the build wrote committed files, so commit {git(project.root, 'rev-parse', '--short', 'HEAD')} "
            f"does not hold this release's inputs:\n{written}",
            file=str(project.root),
            fix="review and commit what the build assigned (new articles' splits and folds), then release again",
        )


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
    write_whole(path, text)


def load_record(project: Project, version: str) -> dict:
    path = record_path(project, version)
    if not path.exists():
        fail(
            f"no release {version}",
            file=project.rel(path),
            fix=f"known releases: {', '.join(releases(project)) or 'none'}",
        )
    return json.loads(path.read_text(encoding="utf-8"))
