"""Output folders: replaced only when that loses nothing, and never seen half-written.

**What may be replaced.** `--out DIR` (default `dist/`) is replaced only when it is missing,
empty, or an earlier output of this dataset: its own `manifest.json` names the project's
dataset, and every other file in it is one that manifest lists (so a file a user added is
never deleted with it). The project folder, a folder above it, the input folders
(`corpus/`, `annotations/`, `releases/`, `.git/`, `.khc/`) and anything inside them, a file,
and any other folder are refused before anything is touched. A symlink is judged by what it
points at, and that is what gets replaced; the link stays.

**How it is replaced.** The new output is written into `.NAME.building-PID-XXXX` beside the
target (same folder, so same file system: a rename, not a copy). When it is complete:
- a missing or empty target is replaced by one `rename(2)`, which is atomic;
- otherwise Linux's `renameat2(RENAME_EXCHANGE)` swaps the two names in one atomic step, and
  the previous output, now under the staging name, is deleted. A reader of `NAME` sees the
  previous complete output or the new one at every instant, never a gap.
- Where the exchange does not exist (another OS, a file system without it), two renames do
  it: `NAME` → `.NAME.old-PID`, then the stage → `NAME`. For the moment between them `NAME`
  is missing; a process killed there leaves the previous output in `.NAME.old-PID`.
(A symlink `NAME` → `.NAME.v-N`, swapped by one rename, would be atomic everywhere but turns
the user's folder into a link and needs a non-atomic first move; the exchange keeps `dist/`
a plain folder.)

**Leftovers.** Every hidden name carries the pid of the process that made it. At the next
start (`output_target`, before any check) the leftovers of processes that no longer run are
dealt with: a `.NAME.old-PID` is renamed back to `NAME` if `NAME` is missing, else deleted; a
`.NAME.building-PID-…` (a half-written output, or the previous output after an exchange) is
deleted. Those of a running process are left to it. A `.NAME.building-XXXXXXXX`, which names no
pid (the stage of a build older than the pid in the name), is deleted once nothing in it has
changed for 6 h (`STAGE_QUIET_SECONDS`).

Tests pause a build at a named point with `KHC_TEST_PAUSE=POINT` (see `_pause`) and force
the two-rename path with `KHC_TEST_NO_EXCHANGE=1`; nothing else reads these variables.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from builders.errors import KhcError, Problem, fail
from builders.progress import note
from builders.project import Project

INPUT_FOLDERS = ("corpus", "annotations", "releases", ".git", ".khc")
MANIFEST = "manifest.json"
PAUSE_POINTS = ("staged", "written", "exchanged", "between-renames")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2

# A stage folder of a build whose name holds no pid (`.NAME.building-XXXXXXXX`, made before the
# pid was in the name; `khc verify` of an old release still runs that code) cannot be checked
# against a process: it is taken as abandoned once nothing in it has changed for this long.
STAGE_QUIET_SECONDS = 6 * 3600


def quiet_for(folder: Path) -> float:
    """Seconds since anything in `folder`, itself included, was last modified (links not followed)."""
    newest, todo = 0.0, [folder]
    while todo:
        path = todo.pop()
        try:
            newest = max(newest, path.lstat().st_mtime)
            if path.is_dir() and not path.is_symlink():
                todo.extend(path.iterdir())
        except OSError:  # gone meanwhile: someone is at work in it
            return 0.0
    return time.time() - newest


def output_target(out: Path, project: Project) -> Path:
    """The folder `out` names (through symlinks), once its leftovers are cleared and it may be
    replaced; otherwise a KhcError naming it, with nothing touched."""
    target = out.resolve()
    recover(target)
    _check(out, target, project)
    return target


@contextmanager
def staged_output(target: Path, project: Project) -> Iterator[Path]:
    """Yield an empty folder beside `target` (from `output_target`); when the block ends
    without an error it replaces `target`, else it is removed and `target` is untouched."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-{os.getpid()}-", dir=target.parent))
        stage.chmod(0o755)  # mkdtemp makes it private; the output is meant to be shared
    except OSError as exc:
        raise _write_error(target, exc) from exc
    try:
        _pause("staged")
        yield stage
        _pause("written")
        _check(target, target, project)  # again: the folder may have changed while we built
        _swap(stage, target)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _write_error(target, exc) from exc
        raise


def foreign_files(folder: Path, dataset: str) -> list[str]:
    """Files in `folder` that a build of `dataset` did not write (all of them if its manifest
    is missing, unreadable or names another dataset); empty folders count as nothing."""
    found = _files(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        listed = set(manifest["outputs"]) if manifest.get("dataset") == dataset else set()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        listed = set()
    if not listed:
        return found
    return [f for f in found if f != MANIFEST and f not in listed]


def _files(folder: Path) -> list[str]:
    """Every entry below `folder` that is not a plain folder (files, links), relative."""
    found = []
    for here, dirs, files in os.walk(folder):
        base = Path(here).relative_to(folder)
        found += [(base / d).as_posix() for d in dirs if (Path(here) / d).is_symlink()]
        found += [(base / f).as_posix() for f in files]
    return sorted(found)


def _check(given: Path, target: Path, project: Project) -> None:
    root = project.root.resolve()
    absolute = Path(os.path.abspath(given))  # as given: a link is named, not what it points at
    shown = absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else str(absolute)
    if given.is_symlink():
        shown += f" (a link to {target})"
    fix = "choose a new or empty folder, or an earlier output of this dataset (the default is dist/)"
    if root.is_relative_to(target):
        what = "is the project folder" if target == root else "holds the project folder"
        fail(f"--out {what}: replacing it would delete the project", file=shown, fix=fix)
    for name in INPUT_FOLDERS:
        if target.is_relative_to(root / name):
            fail(f"--out is inside the project's input folder {name}/", file=shown, fix=fix)
    if target.exists() and not target.is_dir():
        fail("--out names a file, not a folder", file=shown, fix=fix)
    if target.is_dir():
        foreign = foreign_files(target, project.name)
        if foreign:
            listed = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            fail(
                f"--out holds files that are not an earlier build of {project.name}: {listed}",
                file=shown,
                fix=f"{fix}; or move those files out of it first",
            )


def _swap(stage: Path, target: Path) -> None:
    if not target.exists() or not any(target.iterdir()):
        stage.rename(target)  # rename(2) replaces a missing name or an empty folder atomically
        return
    if _exchange(stage, target):
        _pause("exchanged")
        shutil.rmtree(stage, ignore_errors=True)  # the previous output, now under the stage's name
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    target.rename(old)
    try:
        _pause("between-renames")
        stage.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two names atomically; False where the system or file system can't."""
    if sys.platform != "linux" or os.environ.get("KHC_TEST_NO_EXCHANGE"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a libc without it (glibc < 2.28)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


_LEFTOVER = re.compile(
    r"^\.(?P<name>.+)\.(?:old-(?P<old>\d+)|building-(?:(?P<building>\d+)-.+|(?P<pidless>[a-z0-9_]{8})))$"
)


def recover(target: Path) -> None:
    """Deal with what killed processes left beside `target` (see the module docstring)."""
    if not target.parent.is_dir():
        return
    leftovers = []
    for entry in target.parent.iterdir():
        match = _LEFTOVER.match(entry.name)
        if match and match["name"] == target.name and entry.is_dir() and not entry.is_symlink():
            if match["pidless"]:  # an older build's stage: gone once quiet for long
                if quiet_for(entry) > STAGE_QUIET_SECONDS:
                    leftovers.append((True, entry))
                continue
            pid = int(match["old"] or match["building"])
            if not _running(pid):
                leftovers.append((match["old"] is None, entry))
    for building, entry in sorted(leftovers):  # the old folders first: they may be restored
        if not building and not target.exists():
            entry.rename(target)
            note(f"restored the previous output {target.name}/ from {entry.name} (a build was killed)")
        else:
            shutil.rmtree(entry, ignore_errors=True)
            note(f"removed {entry.name}, left by a build that was killed")


def _running(pid: int) -> bool:
    if pid == os.getpid():  # a previous process with our pid: it is gone
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _write_error(target: Path, exc: OSError) -> KhcError:
    return KhcError(
        Problem(
            f"could not write the output: {exc.strerror or exc}",
            file=exc.filename or str(target),
            fix="free some space or choose another --out; the previous output is untouched",
        )
    )


def _pause(point: str) -> None:
    """Tests only: stop here (until killed) when KHC_TEST_PAUSE names this point."""
    if os.environ.get("KHC_TEST_PAUSE") == point:
        print(f"khc: paused at {point}", file=sys.stderr, flush=True)
        time.sleep(600)
