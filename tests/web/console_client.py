"""What the console's page tests share: a live server (``live_server``) with the demo installed
in org-a, and HTTP clients signed in through the real sign-in form.

The fixtures ``console`` and ``settings`` (the conftest's, with the home as a file root, where
the demo keeps its files) are defined as ``*_fixture`` and imported by the test modules that use
them (``# noqa: F401``), as ``tests/api/api_helpers.py`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from live_api import LiveServer
from scorecast.config import Settings
from scorecast.demo import install_demo
from scorecast.service.accounts import authenticate_reading

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    server: LiveServer
    definition_id: str
    deployment_id: str

    def client(self, token: str | None = None) -> httpx.Client:
        """A client that does not follow redirects, signed in with ``token`` when given."""
        client = httpx.Client(base_url=self.server.base_url, timeout=120.0)
        if token is not None:
            form = client.get("/login")
            answer = client.post("/login", data={"token": token, "csrf": csrf_in(form.text)})
            assert answer.status_code == 303, answer.text
        return client

    def signed_in(self) -> httpx.Client:
        """A client signed in as alice of org-a, whose organization has the demo."""
        return self.client(self.server.token)


def csrf_in(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, page
    return found.group(1)


def started_job(client: httpx.Client, definition_id: str) -> str:
    """The id of a job started with the definition page's Run now (it waits: no worker)."""
    csrf = csrf_in(client.get("/").text)
    answer = client.post(f"/definitions/{definition_id}/run", data={"csrf": csrf})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].split("/")[2].split("?")[0]


@pytest.fixture(name="settings")
def console_settings_fixture(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SCORECAST_FILE_ROOTS", str(settings.home))
    return Settings.from_env()


@pytest.fixture(name="console")
def console_fixture(live_server: LiveServer) -> Iterator[Console]:
    caller = authenticate_reading(live_server.engine, live_server.token)
    demo = install_demo(live_server.settings, live_server.engine, caller)
    yield Console(live_server, demo.definition_id, demo.deployment_id)
