"""Talking to a real Label Studio server through label-studio-sdk: connection and errors.

Connection settings come from the environment (`LABEL_STUDIO_URL`, `LABEL_STUDIO_API_KEY`)
or options; the key is never printed, logged or written, and the address is shown without
any `user:password@` it carries. Every server failure becomes a KhcError that names the
address and says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.core.parse_error import ParsingError

from builders.errors import KhcError, Problem, fail, scrub, without_credentials

T = TypeVar("T")
TIMEOUT_SECONDS = 60.0
BODY_SHOWN = 300  # characters of a server's error body in a message
NOT_LABEL_STUDIO = "check that LABEL_STUDIO_URL is the address of Label Studio itself (not a proxy or another service)"


@dataclass
class Connection:
    url: str  # as shown: without credentials
    client: LabelStudio
    _key: str  # kept only to scrub it from messages
    server_time: datetime | None = None  # the server's clock (HTTP `Date`) at its latest answer

    def saw(self, response: httpx.Response) -> None:
        try:
            self.server_time = parsedate_to_datetime(response.headers["date"])
        except (KeyError, TypeError, ValueError):  # no Date, or not one: the clock is unknown
            self.server_time = None

    def call(self, what: str, fn: Callable[[], T], *, not_found: str | None = None, expect: type | None = None) -> T:
        """Run one API call; map transport and HTTP errors, and answers of the wrong shape, to KhcErrors."""
        try:
            answer = fn()
        except httpx.TimeoutException:
            raise KhcError(
                Problem(
                    f"Label Studio at {self.url} did not answer in time while it {what}",
                    fix="check that the server is running and not overloaded, then retry (a large export may "
                    "need a longer --timeout)",
                )
            ) from None
        except httpx.TransportError as exc:
            raise KhcError(
                Problem(
                    f"Label Studio at {self.url} is not answering ({type(exc).__name__}) while it {what}",
                    fix="start it (`khc ls serve`) or set LABEL_STUDIO_URL to the right address",
                )
            ) from None
        except ApiError as exc:
            raise KhcError(self._problem(exc.status_code, exc.body, what, not_found)) from None
        except (ParsingError, TypeError, ValueError) as exc:
            if not _raised_in_sdk(exc):  # our own code's error: not the server's
                raise
            answer = _UNREADABLE  # the SDK could not read the answer
        if answer is _UNREADABLE or (expect is not None and not isinstance(answer, expect)):
            raise KhcError(self.unexpected(what))
        return answer

    def unexpected(self, what: str) -> Problem:
        return Problem(
            f"Label Studio at {self.url} gave an answer that is not what Label Studio answers while it {what}",
            fix=NOT_LABEL_STUDIO,
        )

    def _problem(self, status: int | None, body: object, what: str, not_found: str | None) -> Problem:
        if status in (401, 403):
            return Problem(
                f"Label Studio at {self.url} rejected the API key (HTTP {status}) while it {what}",
                fix="set LABEL_STUDIO_API_KEY to your token (Label Studio: Account & Settings → Access token); "
                "legacy tokens must be enabled for the organisation",
            )
        if status == 404 and not_found:
            return Problem(not_found, fix="check the id with the Label Studio projects page")
        if status is not None and 200 <= status < 300:  # a success the SDK could not parse (not JSON)
            return self.unexpected(what)
        shown = scrub(str(body), self._key)  # before cutting: a cut could split the token and hide it
        if len(shown) > BODY_SHOWN:
            shown = shown[:BODY_SHOWN] + " …"
        return Problem(
            f"Label Studio at {self.url} answered HTTP {status} while it {what}: {shown}",
            fix="see the server's log; retry once the cause is fixed",
        )


_UNREADABLE = object()


def _raised_in_sdk(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith("label_studio_sdk"):
            return True
        tb = tb.tb_next
    return False


def checked_url(url: str) -> str:
    """`url` if it is a usable http(s) address; else a KhcError showing it without credentials."""
    shown = without_credentials(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        reason = "" if "@" in url else f" ({exc})"  # a parser's reason can quote a piece of the password
        fail(
            f"the Label Studio address {shown!r} is not a valid URL{reason}",
            record="LABEL_STUDIO_URL or --url",
            fix="give an address like http://127.0.0.1:8080",
        )
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        fail(
            f"the Label Studio address {shown!r} is not an http:// or https:// address with a host",
            record="LABEL_STUDIO_URL or --url",
            fix="give an address like http://127.0.0.1:8080",
        )
    return url


def connect(url: str | None = None, api_key: str | None = None, *, timeout: float | None = None) -> Connection:
    """A checked connection; `timeout` is the seconds any one request may take (default 60)."""
    url = (url or os.environ.get("LABEL_STUDIO_URL") or "").rstrip("/")
    key = api_key or os.environ.get("LABEL_STUDIO_API_KEY") or ""
    if not url:
        raise KhcError(Problem("no Label Studio address", fix="set LABEL_STUDIO_URL, e.g. http://127.0.0.1:8080"))
    if not key:
        raise KhcError(Problem("no Label Studio API key", fix="set LABEL_STUDIO_API_KEY (never put it in a file here)"))
    seconds = timeout or TIMEOUT_SECONDS
    answers = httpx.Client(timeout=seconds, follow_redirects=True)  # as the SDK makes it, with a hook
    client = LabelStudio(base_url=checked_url(url), api_key=key, timeout=seconds, httpx_client=answers)
    connection = Connection(url=without_credentials(url), client=client, _key=key)
    answers.event_hooks["response"] = [connection.saw]
    connection.call("checked who you are", lambda: client.users.whoami())
    return connection
