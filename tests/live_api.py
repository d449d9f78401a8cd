"""A real uvicorn serving the API in a thread, for HTTP-level tests.

``serve_app`` serves an app on a free port; ``LiveServer`` is what the ``live_server`` fixture
(``conftest.py``) yields. Import from tests as ``from live_api import LiveServer`` (pytest
puts the tests folder on ``sys.path``; importing from ``conftest`` would find whichever
``conftest`` module was imported first).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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
def serve_app(settings: Settings, engine: Engine, app: Any = None) -> Iterator[str]:
    """Serve ``app`` (default: ``create_app(settings, engine)``) with uvicorn in a thread on a
    free port; yields the base URL (``http://127.0.0.1:PORT``) and stops the server after."""
    import uvicorn

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
    server = uvicorn.Server(config)
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
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
