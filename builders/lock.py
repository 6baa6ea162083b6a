"""One writer at a time: the project lock.

Commands that write project files (`khc build`, which may append to `corpus/splits.csv`
and replaces `dist/`; `khc ingest`; `khc ls pull`; `khc release`) hold an exclusive
`flock` on `.khc/lock` (git-ignored) while they run. The kernel drops the lock when the
holder ends, however it ends (even by SIGKILL), so a lock is never stale. A second command
waits up to `KHC_LOCK_TIMEOUT` seconds (default 30) and then refuses, naming the lock and
the pid the holder wrote into it. The lock is re-entrant within a process (`khc release`
runs a build).

`khc build` holds it for the whole build rather than only around its writes: the splits it
appends are chosen from the split file it read at the start, and the inputs it hashes into
the manifest must be the ones it read, so nobody may write them meanwhile.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from builders.errors import fail
from builders.progress import note
from builders.project import Project

DEFAULT_TIMEOUT = 30.0
POLL_SECONDS = 0.1
_held: dict[Path, int] = {}  # lock file → depth: re-entry within this process (khc runs one thread)
P = ParamSpec("P")
T = TypeVar("T")


def lock_path(project: Project) -> Path:
    return project.root / ".khc" / "lock"


def timeout() -> float:
    value = os.environ.get("KHC_LOCK_TIMEOUT", "")
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        fail(f"KHC_LOCK_TIMEOUT={value!r} is not a number of seconds", fix="unset it or give e.g. 30")


@contextmanager
def project_lock(project: Project, command: str) -> Iterator[None]:
    """Hold the project lock for `command` (e.g. "khc build") while the block runs."""
    path = lock_path(project).resolve()
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (path.parent / ".gitignore").exists():  # local state: never committed, never "uncommitted"
            (path.parent / ".gitignore").write_text("*\n", encoding="utf-8")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            yield  # a project nobody can write here needs no lock: this command can't write it either
            return
        raise
    try:
        _acquire(fd, project, command)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command}\n".encode(), 0)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(fd, 0)  # released below; a waiter reads no stale pid
    finally:
        os.close(fd)  # closing the file releases the flock


def locked(command: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: run a function whose first argument is the Project under `project_lock`."""

    def wrap(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            with project_lock(args[0], command):  # type: ignore[arg-type]
                return fn(*args, **kwargs)

        return run

    return wrap


def _acquire(fd: int, project: Project, command: str) -> None:
    limit = timeout()
    deadline = time.monotonic() + limit
    waiting = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = _holder(fd)
        if time.monotonic() >= deadline:
            fail(
                f"another khc command is writing this project ({holder}); {command} waited {limit:g} s for it",
                file=project.rel(lock_path(project)),
                fix="let it finish, then run this again (the lock goes when that process ends, even if it is "
                "killed; KHC_LOCK_TIMEOUT sets how long to wait)",
            )
        if not waiting:
            note(f"waiting for {project.rel(lock_path(project))}: held by {holder}")
            waiting = True
        time.sleep(POLL_SECONDS)


def _holder(fd: int) -> str:
    """Who holds the lock, from what it wrote into the file ("pid 123 (khc build)")."""
    text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    pid, _, command = text.partition(" ")
    return f"pid {pid} ({command})" if pid.isdigit() else "a process that has just started"
