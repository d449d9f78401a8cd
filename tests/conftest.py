"""Shared fixtures: stores on every backend, settings with a temporary home, a live server.

- ``store_url``: a migrated, empty store, once per backend (``sqlite`` and ``postgresql``).
  SQLite: a copy of a template file migrated once per session. PostgreSQL: a fresh database per
  test, cloned (``CREATE DATABASE … TEMPLATE``) from a template database migrated once per
  session, dropped after the test. Restrict a test to one backend with
  ``@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)``.
- ``engine``: an engine on ``store_url``.
- ``settings``: :class:`scorecast.config.Settings` with a temporary ``SCORECAST_HOME`` and
  ``store_url`` as the database; the ``SCORECAST_*`` environment variables point at the same
  place (so in-process CLI calls and child processes see it).
- ``live_server``: a real uvicorn serving ``create_app(settings, engine)`` on a free port; see
  :class:`LiveServer`. ``shared_live_server``: one per module and backend, for tests of
  requests the server refuses.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from hypothesis_profiles import load_profile
from live_api import LiveServer, serve_app
from scorecast.config import Settings
from scorecast.store.db import create_engine_for, migrate
from services import (
    BACKENDS,
    POSTGRES,
    fresh_store,
    pg_execute,
    pg_url,
    require,
)


def _generous_http_waits() -> None:
    """httpx waits 5 s for an answer unless a call says otherwise; a CI machine of 2 cores
    running the suite beside its services can take longer, and no test may depend on the
    machine's speed. Every httpx call of these tests without its own timeout waits 120 s (the
    default is one shared ``Timeout`` object, given in place)."""
    default = httpx._config.DEFAULT_TIMEOUT_CONFIG
    default.connect = default.read = default.write = default.pool = 120.0


def _one_default_ssl_context() -> None:
    """Every ``httpx.get(...)`` of these tests builds a client, and every client its own SSL
    context, reading a CA bundle again: 20-30 ms of CPU each, for calls to a plain-HTTP live
    server. The clients with httpx's defaults (``verify=True``, no ``cert``, ``trust_env``)
    share one context per value of ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` (which httpx reads),
    made by httpx the same way, as httpx's docs advise; any other client (the service's webhooks
    pass ``trust_env=False``) gets its own as before."""
    from httpx._transports import default as transports

    build = transports.create_ssl_context
    shared: dict[tuple[str | None, str | None], ssl.SSLContext] = {}

    def create_ssl_context(
        verify: Any = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if not (verify is True and cert is None and trust_env):
            return build(verify=verify, cert=cert, trust_env=trust_env)
        key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if key not in shared:
            shared[key] = build()
        return shared[key]

    transports.create_ssl_context = create_ssl_context


_generous_http_waits()
_one_default_ssl_context()
load_profile()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated empty SQLite store file; tests get copies of it."""
    path = tmp_path_factory.mktemp("store-template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The name of a migrated empty PostgreSQL database used as a template."""
    require(POSTGRES)
    name = f"scorecast_tpl_{os.getpid()}"
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    migrate(pg_url(name))
    yield name
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a migrated empty store on the parametrized backend."""
    with fresh_store(request, request.param, tmp_path / "store.db") as url:
        yield url


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = create_engine_for(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with a fresh home under ``tmp_path`` and the parametrized store."""
    home = tmp_path / "home"
    home.mkdir()
    return _settings_in(monkeypatch, home, store_url)


def _settings_in(monkeypatch: pytest.MonkeyPatch, home: Path, store_url: str) -> Settings:
    monkeypatch.setenv("SCORECAST_HOME", str(home))
    monkeypatch.setenv("SCORECAST_DATABASE_URL", store_url)
    for name in ("SCORECAST_SECRET_KEY", "SCORECAST_ENDPOINT", "SCORECAST_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return Settings.from_env()


# --- live server -----------------------------------------------------------------------------


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """A real uvicorn on a free port serving the API on the test's store (both backends)."""
    with _live_server(settings) as live:
        yield live


@pytest.fixture(scope="module", params=BACKENDS)
def shared_live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A ``live_server`` shared by the tests of a module on each backend, for tests whose
    requests the server refuses (a 422 must change nothing, so no test sees another's work).
    A new app builds its routes' request handling on its first request (about 0.3 s of CPU):
    a module of a hundred such tests saves that a hundred times."""
    tmp = tmp_path_factory.mktemp("shared-live")
    home = tmp / "home"
    home.mkdir()
    with (
        fresh_store(request, request.param, tmp / "store.db") as url,
        pytest.MonkeyPatch.context() as monkeypatch,
    ):
        settings = _settings_in(monkeypatch, home, url)
        with _live_server(settings) as live:
            yield live


@contextmanager
def _live_server(settings: Settings) -> Iterator[LiveServer]:
    from scorecast.service.accounts import create_token
    from scorecast.store.db import session_scope

    engine = create_engine_for(settings.database_url)
    try:
        with session_scope(engine) as session:
            token = create_token(session, "org-a", "alice")
        with serve_app(settings, engine) as base_url:
            yield LiveServer(
                url=f"{base_url}/api/v2",
                base_url=base_url,
                token=token,
                settings=settings,
                engine=engine,
            )
    finally:
        engine.dispose()


# --- models ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def onnx_binary_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small ONNX logistic regression: numeric features ``num_a``, ``num_b``; binary target
    ``label`` with classes ``no``/``yes`` (``yes`` when ``num_a + num_b > 0``)."""
    import numpy as np
    import pandas as pd
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(200, 2)), columns=["num_a", "num_b"])
    labels = np.where(frame.num_a + frame.num_b > 0, "yes", "no")
    model = make_pipeline(
        make_column_transformer((StandardScaler(), ["num_a", "num_b"])), LogisticRegression()
    ).fit(frame, labels)
    onnx_model = to_onnx(
        model,
        initial_types=[(name, FloatTensorType([None, 1])) for name in ("num_a", "num_b")],
        options={"zipmap": False},
        target_opset=17,
    )
    path = tmp_path_factory.mktemp("models") / "binary.onnx"
    path.write_bytes(onnx_model.SerializeToString())
    return path


@pytest.fixture
def live_runtime(live_server: LiveServer) -> Iterator[LiveServer]:
    """``live_server`` plus a worker (2 job slots, 5 s leases) and a scheduler on its store, so
    jobs submitted to it really run."""
    from scorecast.runtime.scheduler import Scheduler
    from scorecast.runtime.worker import Worker

    worker = Worker(live_server.settings, live_server.engine, slots=2, lease_seconds=5.0)
    scheduler = Scheduler(live_server.engine)
    worker.start()
    scheduler.start()
    try:
        yield live_server
    finally:
        scheduler.stop()
        worker.stop()
