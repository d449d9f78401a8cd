"""Fixtures of the connector contract suite: every backend on a real store.

``backend`` is parametrized over filesystem, s3 (moto server), azure (Azurite), gcp
(gcp-storage-emulator), jdbc-postgres, jdbc-mariadb, dataset and localFile (uploads and
downloads in the storage). Emulators start once per
session on free ports; databases are created once per session and dropped after it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import emulators
import pytest
import sqlalchemy as sa
from backend_factory import make_backend
from backends import Backend
from context import settings_for

from scorecast.config import Settings
from services import MARIADB, POSTGRES, require

BACKENDS = [
    "filesystem",
    "s3",
    "azure",
    "gcp",
    "jdbc-postgres",
    "jdbc-mariadb",
    "dataset",
    "localFile",
]


@pytest.fixture(scope="session")
def connector_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("connectors")


@pytest.fixture(scope="session")
def file_root(connector_home: Path) -> Path:
    root = connector_home / "root"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def app_settings(connector_home: Path, file_root: Path) -> Settings:
    home = connector_home / "home"
    home.mkdir()
    return settings_for(home, file_root)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[emulators.Running]:
    with emulators.moto() as running:
        yield running


@pytest.fixture(scope="session")
def azurite_server(connector_home: Path) -> Iterator[emulators.Running]:
    workdir = connector_home / "azurite"
    workdir.mkdir()
    with emulators.azurite(workdir) as running:
        yield running


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[emulators.Running]:
    with emulators.gcs() as running:
        previous = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = running.endpoint
        try:
            yield running
        finally:
            if previous is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = previous


def _database(admin_url: str, name: str) -> Iterator[str]:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    quoted = engine.dialect.identifier_preparer.quote(name)
    with engine.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
        connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
    try:
        yield name
    finally:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
            else:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    require(POSTGRES)
    yield from _database(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", f"scorecast_conn_{os.getpid()}"
    )


@pytest.fixture(scope="session")
def mariadb_database() -> Iterator[str]:
    require(MARIADB)
    yield from _database(
        "mysql+pymysql://root@127.0.0.1:3306/test", f"scorecast_conn_{os.getpid()}"
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, app_settings: Settings) -> Backend:
    return make_backend(request.param, request, app_settings)
