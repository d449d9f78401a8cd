"""Alembic environment: runs the store's migrations on the connection ``migrate`` passes in.

Concurrent starts are serialized: PostgreSQL takes a transaction-level advisory lock before
Alembic reads the current revision, SQLite begins with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from scorecast.store import models
from scorecast.store.db import SQLITE_BEGIN, create_engine_for

_MIGRATION_LOCK = 7_221_980_417  # pg_advisory_xact_lock key owned by scorecast migrations


def _run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
    context.configure(
        connection=connection,
        target_metadata=models.Base.metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
        # SQLite's DDL is transactional too: one transaction for every step, so the write lock
        # taken by BEGIN IMMEDIATE is held from reading the current revision to the last step
        # (Alembic would otherwise commit after each step, and a concurrent start could run
        # the steps it read as pending a second time: "duplicate column name")
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    engine = create_engine_for(url)
    try:
        with engine.connect() as fresh:
            _run(fresh)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("scorecast migrations run online only (scorecast.store.db.migrate)")
run_migrations_online()
