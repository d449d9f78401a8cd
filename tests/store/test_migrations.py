"""Migrating an empty database gives exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from scorecast.store.db import alembic_config, create_engine_for, current_revision, migrate
from scorecast.store.models import Base
from services import BACKENDS, POSTGRES, drop_postgres_database, pg_execute, pg_url, require


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    require(POSTGRES)
    name = f"scorecast_empty_{tmp_path.name[-20:]}".replace("-", "_").lower()
    drop_postgres_database(name)
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        drop_postgres_database(name)


def _differences(url: str) -> list[object]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_empty_database_has_differences_before_migrating(empty_url: str) -> None:
    # The comparison below can fail: on an empty database it reports every table.
    assert len(_differences(empty_url)) >= len(Base.metadata.tables)


def test_migrating_an_empty_database_gives_the_models_schema(empty_url: str) -> None:
    migrate(empty_url)
    assert _differences(empty_url) == []
    engine = create_engine_for(empty_url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        head = ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
        assert current_revision(engine) == head
    finally:
        engine.dispose()


def test_migrate_is_idempotent(empty_url: str) -> None:
    migrate(empty_url)
    migrate(empty_url)
    assert _differences(empty_url) == []


def test_concurrent_migrations_leave_one_schema(empty_url: str) -> None:
    # Several processes starting at once (two schedulers, serve + token create) all succeed.
    code = "import sys; from scorecast.store.db import migrate; migrate(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, empty_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    failures = [p.stderr.read() for p in processes if p.wait() != 0 and p.stderr]
    for process in processes:
        if process.stderr:
            process.stderr.close()
    assert failures == []
    assert _differences(empty_url) == []


def test_store_url_fixture_is_migrated_and_empty(store_url: str) -> None:
    assert _differences(store_url) == []
    engine = create_engine_for(store_url)
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                assert connection.execute(table.select()).first() is None
    finally:
        engine.dispose()
