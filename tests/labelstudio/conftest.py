"""One Label Studio server per test session, shared by every test that needs one."""

from __future__ import annotations

import pytest

from tests.labelstudio.server import Server, start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    with start_server(tmp_path_factory.mktemp("label-studio-data")) as running:
        yield running
