"""A real Label Studio server for the tests: 127.0.0.1, a free port, a fresh data folder.

`start_server` launches the `label-studio` installed by the test extra with a known admin and
token, waits until it answers and stops it (its whole process group) when the context ends.
Nothing is installed at run time.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ADMIN = "admin@khc.test"
PASSWORD = "Khc-test-pass-2026"
TOKEN = "khc-integration-token-0123456789"
START_TIMEOUT = 240


@dataclass
class Server:
    url: str
    token: str
    data: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def start_server(data: Path) -> Iterator[Server]:
    exe = Path(sys.executable).with_name("label-studio")
    assert exe.exists(), "the test extra installs label-studio: pip install -e '.[test]'"
    port = free_port()
    log = (data / "server.log").open("w")
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data), "LOG_LEVEL": "WARNING"}
    command = [str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port)]
    command += ["--data-dir", str(data), "--username", ADMIN, "--password", PASSWORD]
    command += ["--user-token", TOKEN, "--enable-legacy-api-token"]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"label-studio exited early:\n{(data / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"label-studio did not answer within {START_TIMEOUT}s")
            time.sleep(1)
        yield Server(url, TOKEN, data)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def sign_up(url: str, email: str) -> str:
    """Create an annotator through Label Studio's sign-up page; return their API token."""
    session = requests.Session()
    page = session.get(f"{url}/user/signup/", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    session.post(
        f"{url}/user/signup/",
        data={"csrfmiddlewaretoken": csrf, "email": email, "password": PASSWORD, "how_find_us": "Other"},
        headers={"Referer": f"{url}/user/signup/"},
        timeout=30,
    )
    return session.get(f"{url}/api/current-user/token", timeout=30).json()["token"]
