"""The connection to Label Studio against a fake local server: what a user sees when the
address or the server is wrong, and that no credential is ever shown."""

from __future__ import annotations

import pytest

from builders.errors import KhcError, scrub, without_credentials
from builders.labelstudio.connection import BODY_SHOWN, connect
from tests.fake_server import closed_port, fake_server

TOKEN = "khc-secret-token-0123456789abcdef0123456789"


def test_credentials_are_cut_from_every_url():
    assert without_credentials("http://user:password@host:8080/api?x=1") == "http://host:8080/api?x=1"
    assert without_credentials("see https://u:p@a.org and http://b.org") == "see https://a.org and http://b.org"
    assert without_credentials("http://u:pa/ss@host") == "http://host"  # a password with a slash, typed raw
    assert without_credentials("http://[::1") == "http://[::1"
    assert without_credentials("http://host/path") == "http://host/path"


def test_scrub_removes_given_and_environment_secrets(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijkl")
    text = scrub(f"a {TOKEN} b hf_abcdefghijkl c http://me:pw@h", TOKEN)
    assert TOKEN not in text and "hf_abcdefghijkl" not in text and "pw" not in text
    assert text == "a *** b *** c http://h"


def test_password_in_the_url_is_never_printed():
    url = f"http://someone:hunter2-password@127.0.0.1:{closed_port()}"
    with pytest.raises(KhcError) as raised:
        connect(url, TOKEN)
    message = str(raised.value)
    assert "is not answering" in message and "127.0.0.1" in message
    assert "hunter2" not in message and "someone" not in message and TOKEN not in message


@pytest.mark.parametrize("url", ["http://[::1", "http://u:hunter2@[::1", "http://u:hunter2/x@host", "ftp://host"])
def test_malformed_address_is_a_message(url):
    with pytest.raises(KhcError) as raised:
        connect(url, TOKEN)
    message = str(raised.value)
    assert "LABEL_STUDIO_URL" in message and "http://127.0.0.1:8080" in message
    assert "hunter2" not in message


def test_token_echoed_by_the_server_is_scrubbed_before_the_body_is_cut():
    # The server echoes the Authorization header at a place where the old 300-character cut
    # fell in the middle of the token, so the old code printed its first half.
    seen = []

    def answer(method, path, headers):
        auth = headers.get("Authorization", "")
        seen.append(auth)
        filler = "x" * (BODY_SHOWN - len(TOKEN) // 2 - auth.find(TOKEN))  # the token starts left of the cut
        return 400, f"{filler}{auth}{'y' * 600}".encode()

    with fake_server(answer) as url, pytest.raises(KhcError) as raised:
        connect(url, TOKEN)
    message = str(raised.value)
    assert TOKEN in seen[0]  # the server did echo the token
    assert "answered HTTP 400" in message and "***" in message
    assert TOKEN[: len(TOKEN) // 2] not in message and TOKEN[-8:] not in message
    assert "y" * (BODY_SHOWN + 1) not in message  # the long body is still cut


def test_a_server_that_answers_an_html_page_is_not_label_studio():
    with fake_server(lambda *_: (200, b"<html>a login page</html>")) as url, pytest.raises(KhcError) as raised:
        connect(url, TOKEN)
    assert "not what Label Studio answers" in str(raised.value) and url in str(raised.value)


def test_a_server_that_answers_objects_where_lists_belong():
    with fake_server(lambda *_: (200, {"detail": "not a list"})) as url:
        conn = connect(url, TOKEN)  # whoami accepts any object
        with pytest.raises(KhcError, match="not what Label Studio answers while it listed users"):
            conn.call("listed users", lambda: conn.client.users.list(), expect=list)


def test_our_own_errors_inside_a_call_are_not_blamed_on_the_server():
    with fake_server(lambda *_: (200, {"id": 1})) as url:
        conn = connect(url, TOKEN)

        def broken() -> None:
            raise ValueError("a bug of ours")

        with pytest.raises(ValueError, match="a bug of ours"):
            conn.call("rendered the instructions", broken)
