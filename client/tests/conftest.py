"""Fixtures of the SDK's tests: one real ``scorecast serve`` per session (see sdk_server), the
demo model registered on it, and an empty profile folder per test.

Helpers live in ``sdk_server`` rather than here: ``tests/`` has a conftest module too, and a
test module importing ``conftest`` could get the other one.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from sdk_server import DEMO_MODEL, Server, start_server

# No deadline for hypothesis's examples, as in the main suite (tests/hypothesis_profiles.py):
# this suite runs beside it on a loaded CI machine, where one example can stall past the
# default 200 ms and fail a correct test. Other settings stay as loaded (e.g. the fast tier's).
settings.register_profile("client-no-deadline", parent=settings.default, deadline=None)
settings.load_profile("client-no-deadline")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(tmp_path_factory.mktemp("serve-home")) as running:
        yield running


@pytest.fixture(scope="session")
def deployment(server: Server) -> str:
    with server.client() as client:
        created = client.deployments.register(
            DEMO_MODEL, target="readmitted", target_type="binary", positive_class="yes"
        )
    return created["id"]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """An empty profile folder, so no test reads or writes the user's real profiles."""
    folder = tmp_path / "config"
    folder.mkdir()
    return folder


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port held bound and never listened on for the test: a port merely free a moment ago
    could be taken meanwhile by a server of a test running beside this one."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])
