"""uvicorn as ``scorecast serve`` runs it, in the main process and in its extra API processes
(``cli/api_processes.py``): the config, a server class that leaves the process alive after
the signal it stopped for, and the wait for it to start."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from scorecast.config import Settings


def uvicorn_config(
    uvicorn: Any, app: Any, settings: Settings, log_level: str, keep_alive: int
) -> Any:
    from uvicorn.config import LOGGING_CONFIG

    return uvicorn.Config(
        app,
        log_level=log_level.lower(),
        ws="none",
        lifespan="on",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=keep_alive,
        # the scheme and client address a proxy reports, from the proxies the operator trusts:
        # the links of every answer (``links``, ``Location``, ``next``) use that scheme
        proxy_headers=True,
        forwarded_allow_ips=list(settings.forwarded_allow_ips) or None,  # None: uvicorn's
        # JSON logs: keep the handlers log_format set up instead of uvicorn's own
        log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
    )


def server_class(uvicorn: Any) -> Any:
    """uvicorn's Server, except that a SIGINT/SIGTERM it shut down for is not raised again on
    the way out (which would kill the process before the worker puts its jobs back)."""

    class Server(uvicorn.Server):  # type: ignore[misc]
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

    return Server


def wait_started(server: Any) -> bool:
    """Wait, from another thread, until uvicorn's ``server`` serves or is told to exit;
    whether it serves."""
    while not server.started and not server.should_exit:
        threading.Event().wait(0.05)
    return bool(server.started)
