"""A real uvicorn serving the API in a thread, for HTTP-level tests.

``serve_app`` serves an app on a free port; ``LiveServer`` is what the ``live_server`` fixture
(``conftest.py``) yields. The server is uvicorn's, stopping as soon as it is told to
(``PromptServer``): every API test starts and stops one, and uvicorn's own stop sleeps on its
0.1 s ticks (about 0.17 s a test, some 40 s of the fast tier). Import from tests as
``from live_api import LiveServer`` (pytest puts the tests folder on ``sys.path``; importing
from ``conftest`` would find whichever ``conftest`` module was imported first).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from scorecast.config import Settings


@dataclass
class LiveServer:
    """A running API. ``url`` is the API root as the datarobot client wants it
    (``http://127.0.0.1:PORT/api/v2``); ``token`` belongs to user ``alice`` of org ``org-a``.
    """

    url: str
    base_url: str
    token: str
    settings: Settings
    engine: Engine

    def token_for(self, org: str, username: str) -> str:
        """A new token for ``username`` in ``org`` (both created when missing)."""
        from scorecast.service.accounts import create_token
        from scorecast.store.db import session_scope

        with session_scope(self.engine) as session:
            return create_token(session, org, username)

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token {token or self.token}"}


@contextmanager
def write_lock_held(server: LiveServer) -> Iterator[None]:
    """The store's write lock, held while the block runs by a connection of another engine
    (on SQLite: ``BEGIN IMMEDIATE`` and a write, so every other writer waits for it)."""
    from sqlalchemy import text

    from scorecast.store.db import create_engine_for

    other = create_engine_for(server.engine.url)
    try:
        with other.begin() as holder:
            holder.execute(text("UPDATE organizations SET name = name"))
            yield
    finally:
        other.dispose()


class PromptServer(uvicorn.Server):
    """uvicorn's ``Server``, which wakes on ``stop()`` instead of at its next 0.1 s tick and, once
    stopping, waits for its open connections and tasks in 5 ms steps instead of 0.1 s ones
    (``uvicorn.Server.main_loop`` and ``shutdown``, same order and same graceful-shutdown
    timeout: connections told to close, in-flight requests answered, then lifespan shutdown).
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def stop(self) -> None:
        """Ask the server to stop (from any thread)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # its loop already ended
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                while (
                    self.server_state.connections or self.server_state.tasks
                ) and not self.force_exit:
                    await asyncio.sleep(0.005)
                for server in self.servers:
                    await server.wait_closed()
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()


@contextmanager
def serve_app(settings: Settings, engine: Engine, app: Any = None) -> Iterator[str]:
    """Serve ``app`` (default: ``create_app(settings, engine)``) with uvicorn in a thread on a
    free port; yields the base URL (``http://127.0.0.1:PORT``) and stops the server after."""
    from scorecast.api.app import create_app

    if app is None:
        app = create_app(settings, engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", ws="none", lifespan="on", timeout_graceful_shutdown=5
    )
    server = PromptServer(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True
    )
    thread.start()
    ready = threading.Event()
    while not server.started and thread.is_alive():
        ready.wait(0.01)
    if not server.started:
        sock.close()
        raise RuntimeError("the live server did not start (see the log above)")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(name="settings")
def file_root_settings_fixture(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The conftest's settings with a file root (``filesystem`` intake and output allowed),
    also in the environment (the scheduler's checks read it there). A module that imports it
    (``# noqa: F401``) overrides ``settings`` with it."""
    root = tmp_path / "files"
    root.mkdir()
    monkeypatch.setenv("SCORECAST_FILE_ROOTS", str(root))
    return Settings.from_env()
