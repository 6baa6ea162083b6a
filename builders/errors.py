"""Errors a user or annotator can cause, each naming the file, the record and what to do;
`explain`, the one top-level handler's text for any exception that reaches the command
line; and `scrub`, which keeps tokens and URL credentials out of every message."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Problem:
    what: str
    file: str | None = None
    record: str | None = None  # e.g. "task 12 (article khc-000003), annotation 40"
    fix: str | None = None

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.record) if p)
        text = f"{where}: {self.what}" if where else self.what
        if self.fix:
            text += f"\n    what to do: {self.fix}"
        return text


class KhcError(Exception):
    """One or more problems with the input; nothing was written, unless `written` says what was
    (`partly_done`)."""

    def __init__(self, problems: Problem | list[Problem]):
        self.problems = problems if isinstance(problems, list) else [problems]
        self.written: list[str] = []
        self.next_step: str | None = None
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = self.problems[:20]
        lines = [str(p) for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"... and {len(self.problems) - len(shown)} more problems of the same kinds")
        return "\n".join(lines)


def fail(what: str, *, file: str | None = None, record: str | None = None, fix: str | None = None):
    raise KhcError(Problem(what, file, record, fix))


@contextmanager
def partly_done(written: list[str], next_step: str | Callable[[], str] | None = None) -> Iterator[None]:
    """Let an error inside say what had been written when it happened.

    The block appends a line to `written` after each thing it writes (a file, a commit, a
    project on a server); a KhcError or OSError that leaves the block while `written` holds
    anything carries those lines, and `explain` prints them, with `next_step` (what to do
    about them), instead of "nothing was written"."""
    try:
        yield
    except (KhcError, OSError) as exc:
        if not written:
            raise
        error = exc if isinstance(exc, KhcError) else KhcError(_os_problem(exc))
        error.written = [*written, *error.written]
        step = next_step() if callable(next_step) else next_step
        error.next_step = error.next_step or step
        if error is exc:
            raise
        raise error from exc


def _written_text(exc: KhcError) -> str:
    if not exc.written:
        return "\nnothing was written."
    lines = "".join(f"\n  - {line}" for line in exc.written)
    text = f"\nwritten before the error, and kept:{lines}"
    return text + (f"\n    what to do next: {exc.next_step}" if exc.next_step else "")


# --- Secrets in messages -------------------------------------------------------------------

SECRET_VARIABLES = ("LABEL_STUDIO_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "KHC_PSEUDONYM_KEY")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<authority>[^?#\s]*)")


def without_credentials(text: str) -> str:
    """Every URL in `text` without its `user:password@` part.

    The last `@` before the path's `?` or `#` ends the credentials: a password holding a `/`
    (which a URL should percent-encode, but people type) is cut too, at the price of
    shortening the rare URL with an `@` in its path."""

    def strip(match: re.Match) -> str:
        authority = match["authority"]
        return match["scheme"] + authority[authority.rfind("@") + 1 :]

    return _USERINFO.sub(strip, text)


def scrub(text: str, *secrets: str) -> str:
    """`text` with the given secrets, the secrets of the environment and URL credentials removed."""
    known = [*secrets, *(os.environ.get(name, "") for name in SECRET_VARIABLES)]
    for secret in sorted({s for s in known if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return without_credentials(text)


# --- The one top-level handler: any exception → the message a user reads ---------------------

_OS_FIXES = {
    errno.EROFS: "the file system there is read-only: choose a place on a writable disk",
    errno.ENOSPC: "the disk is full: free some space (or choose another disk) and run the command again",
    errno.EDQUOT: "your disk quota is used up: free some space and run the command again",
    errno.EACCES: "check the permissions of that folder (or choose another place) and run the command again",
    errno.EPERM: "check the permissions of that folder (or choose another place) and run the command again",
    errno.ENOTDIR: "a part of that path is a file, not a folder: choose another path",
    errno.EISDIR: "that path is a folder: give the path of a file",
    errno.ENOENT: "check the path; create the folder first if it should exist",
    errno.EEXIST: "move it out of the way or choose another path",
}
DEBUG_HINT = "run again with --debug and report it"


def explain(exc: BaseException) -> str:
    """The `khc: error: …` text for an exception that reached the command line (scrubbed)."""
    if isinstance(exc, KhcError):
        text = f"khc: error: {exc}" if len(exc.problems) == 1 else f"khc: error:\n{exc}"
        return scrub(text + _written_text(exc))
    network = _network_problem(exc)
    if network:
        return scrub(f"khc: error: {network}")
    if isinstance(exc, OSError) and exc.strerror:
        return scrub(f"khc: error: {_os_problem(exc)}")
    return scrub(f"khc: error: internal error: {type(exc).__name__}: {exc}\n    what to do: {DEBUG_HINT}")


def _os_problem(exc: OSError) -> Problem:
    paths = " → ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    fix = _OS_FIXES.get(exc.errno or 0, "check the path and the disk, then run the command again")
    return Problem(exc.strerror or type(exc).__name__, file=paths or None, fix=fix)


def _network_problem(exc: BaseException) -> Problem | None:
    if not is_network_error(exc):
        return None
    url = _request_url(exc)
    where = f" reaching {url}" if url else ""
    return Problem(
        f"network error{where}: {type(exc).__name__}: {exc}",
        fix="check the network connection and the address, then run the command again",
    )


def is_network_error(exc: BaseException) -> bool:
    """A transport error of httpx (label-studio-sdk), httpx2 (huggingface_hub) or requests."""
    names = {(cls.__module__.split(".")[0], cls.__name__) for cls in type(exc).__mro__}
    return bool(names & _TRANSPORT_ERRORS)


_TRANSPORT_ERRORS = {
    ("httpx", "TransportError"),
    ("httpx2", "TransportError"),
    ("requests", "ConnectionError"),
    ("requests", "Timeout"),
}


def _request_url(exc: BaseException) -> str | None:
    try:  # httpx's `request` raises RuntimeError when the error has none
        request = getattr(exc, "request", None)
    except RuntimeError:
        return None
    url = getattr(request, "url", None)
    return str(url) if url else None
