"""Fixtures of the end-to-end tests: a ``scorecast serve`` per backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import ServeProcess, register_demo_model

from services import POSTGRES, drop_postgres_database, pg_execute, pg_url, require

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def store_for_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str]]:
    """A fresh home folder and store URL (SQLite under the home, or a new PostgreSQL database)."""
    home = tmp_path_factory.mktemp(f"home-{request.param}")
    if request.param == "sqlite":
        yield home, f"sqlite:///{home / 'scorecast.db'}"
        return
    require(POSTGRES)
    name = f"scorecast_e2e_{os.getpid()}_{home.name}".replace("-", "_")
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield home, pg_url(name)
    finally:
        drop_postgres_database(name)


@pytest.fixture(scope="module")
def server(store_for_server: tuple[Path, str]) -> Iterator[ServeProcess]:
    """A running ``scorecast serve`` (2 job slots) on a fresh store, with its admin token."""
    home, url = store_for_server
    process = ServeProcess(home, url, "--workers", "2").start()
    try:
        assert process.token, process.output()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def deployment(server: ServeProcess) -> str:
    return register_demo_model(server)


@pytest.fixture(scope="module")
def dr(server: ServeProcess) -> Any:
    """The official datarobot client, configured for ``server``."""
    import datarobot

    datarobot.Client(endpoint=server.endpoint, token=server.token)
    return datarobot


@pytest.fixture(params=BACKENDS)
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Like ``store_for_server``, but new for each test."""
    home = tmp_path / "home"
    home.mkdir()
    if request.param == "sqlite":
        yield home, f"sqlite:///{home / 'scorecast.db'}"
        return
    require(POSTGRES)
    name = f"scorecast_e2e_{os.getpid()}_{tmp_path.name}".replace("-", "_")[:60]
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield home, pg_url(name)
    finally:
        drop_postgres_database(name)
