"""Real services the tests use, and how a test asks for one.

``require_service(name, host, port)`` returns when something listens at ``host:port``; otherwise
the test is skipped locally and FAILS when the environment variable ``CI`` is ``true`` (a CI run
must never pass by skipping). ``scripts/services.sh`` starts the local services.

Import from tests as ``from services import require_service, POSTGRES`` (pytest puts the tests
folder on ``sys.path``).
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import make_url

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Service:
    name: str
    host: str
    port: int


POSTGRES = Service("PostgreSQL", "127.0.0.1", 5432)
MARIADB = Service("MariaDB", "127.0.0.1", 3306)

#: Admin URL of the test PostgreSQL server (trust auth, user postgres).
POSTGRES_ADMIN_URL = os.environ.get(
    "SCORECAST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def is_listening(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip the calling test (locally) or fail it (CI=true) unless ``host:port`` answers."""
    if is_listening(host, port):
        return
    message = f"{name} is not reachable at {host}:{port} (start it with scripts/services.sh)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require(service: Service) -> None:
    """``require_service`` for one of the services declared above."""
    require_service(service.name, service.host, service.port)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (prefer passing a bound socket where possible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# --- PostgreSQL databases for tests ------------------------------------------------------

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

_database_numbers = itertools.count()


def pg_admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection to the PostgreSQL server's admin database."""
    import psycopg

    url = make_url(POSTGRES_ADMIN_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
    )


def pg_url(database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the test PostgreSQL server."""
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(False)


def pg_execute(sql: str) -> None:
    with pg_admin_connection() as connection:
        connection.execute(sql)


def fresh_postgres_database(template: str) -> str:
    """Create a database cloned from ``template``; returns its name (drop it when done)."""
    name = f"scorecast_t_{os.getpid()}_{next(_database_numbers)}_{secrets.token_hex(3)}"
    pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def drop_postgres_database(name: str) -> None:
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_store(request: pytest.FixtureRequest, backend: str, sqlite_path: Path) -> Iterator[str]:
    """The URL of a migrated empty store on ``backend``, made from the session's template
    (``sqlite_template``: copied to ``sqlite_path``; ``postgres_template``: a database cloned
    from it, dropped when the block ends)."""
    if backend == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), sqlite_path)
        yield f"sqlite:///{sqlite_path}"
        return
    name = fresh_postgres_database(request.getfixturevalue("postgres_template"))
    try:
        yield pg_url(name)
    finally:
        drop_postgres_database(name)
