"""`khc verify VERSION [--out DIR]`: rebuild a release from its recorded commit, with that
commit's own code, in a temporary git worktree, and compare the content of every output
with the release record. With `--out`, the rebuilt folder is then put in place by the same
rules and atomic swap as `khc build --out` (builders/build/output.py), under the project lock.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from builders.build.output import output_target, staged_output
from builders.errors import KhcError, Problem
from builders.lock import project_lock
from builders.project import Project
from builders.release.content import compare, content_hashes
from builders.release.release import git, load_record


def verify(project: Project, version: str, out: Path | None = None) -> list[str]:
    """Rebuild `version` from its recorded commit; return the differences (empty: verified)."""
    target = output_target(out, project) if out is not None else None  # refused before the long part
    record = load_record(project, version)
    with tempfile.TemporaryDirectory(prefix="khc-verify-") as tmp:
        rebuilt = Path(tmp) / "out"
        _rebuild(project, record, version, Path(tmp) / "tree", rebuilt)
        differences = compare(record["outputs"], content_hashes(rebuilt))
        if target is not None:
            with project_lock(project, "khc verify"):
                target = output_target(target, project)
                with staged_output(target, project) as stage:
                    shutil.copytree(rebuilt, stage, dirs_exist_ok=True)  # onto target's file system
    return differences


def _rebuild(project: Project, record: dict, version: str, tree: Path, out: Path) -> None:
    git(project.root, "worktree", "add", "--detach", str(tree), record["git_commit"])
    try:
        # The old commit's own code builds it: `-m builders.cli` from the worktree.
        command = ["build", "--out", str(out), "--dataset-version", version, "--date", record["date"]]
        if record.get("skipped_invalid"):  # released with --skip-invalid: rebuilt the same way
            command.append("--skip-invalid")
        result = subprocess.run(
            [sys.executable, "-m", "builders.cli", "--root", str(tree), *command],
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
    finally:
        git(project.root, "worktree", "remove", "--force", str(tree))
