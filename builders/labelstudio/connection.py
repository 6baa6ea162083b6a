"""Talking to a real Label Studio server through label-studio-sdk: connection and errors.

Connection settings come from the environment (`LABEL_STUDIO_URL`, `LABEL_STUDIO_API_KEY`)
or options; the key is never printed, logged or written. Every server failure becomes a
KhcError that names the URL and says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from builders.errors import KhcError, Problem

T = TypeVar("T")
TIMEOUT_SECONDS = 60.0


@dataclass
class Connection:
    url: str
    client: LabelStudio
    _key: str  # kept only to scrub it from messages

    def call(self, what: str, fn: Callable[[], T], *, not_found: str | None = None) -> T:
        """Run one API call; map transport and HTTP errors to clear KhcErrors."""
        try:
            return fn()
        except httpx.TimeoutException:
            raise KhcError(
                Problem(
                    f"Label Studio at {self.url} did not answer in time while it {what}",
                    fix="check that the server is running and not overloaded, then retry",
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
            raise KhcError(self._problem(exc, what, not_found)) from None

    def _problem(self, exc: ApiError, what: str, not_found: str | None) -> Problem:
        status = exc.status_code
        if status in (401, 403):
            return Problem(
                f"Label Studio at {self.url} rejected the API key (HTTP {status}) while it {what}",
                fix="set LABEL_STUDIO_API_KEY to your token (Label Studio: Account & Settings → Access token); "
                "legacy tokens must be enabled for the organisation",
            )
        if status == 404 and not_found:
            return Problem(not_found, fix="check the id with the Label Studio projects page")
        body = str(exc.body)[:300].replace(self._key, "***") if self._key else str(exc.body)[:300]
        return Problem(
            f"Label Studio at {self.url} answered HTTP {status} while it {what}: {body}",
            fix="see the server's log; retry once the cause is fixed",
        )


def connect(url: str | None = None, api_key: str | None = None) -> Connection:
    url = (url or os.environ.get("LABEL_STUDIO_URL") or "").rstrip("/")
    key = api_key or os.environ.get("LABEL_STUDIO_API_KEY") or ""
    if not url:
        raise KhcError(Problem("no Label Studio address", fix="set LABEL_STUDIO_URL, e.g. http://127.0.0.1:8080"))
    if not key:
        raise KhcError(Problem("no Label Studio API key", fix="set LABEL_STUDIO_API_KEY (never put it in a file here)"))
    client = LabelStudio(base_url=url, api_key=key, timeout=TIMEOUT_SECONDS)
    connection = Connection(url=url, client=client, _key=key)
    connection.call("checked who you are", lambda: client.users.whoami())
    return connection
