"""Engines and transactions on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from scorecast.config import Settings
from scorecast.errors import InvalidInput
from scorecast.store.db import (
    POSTGRES_POOL_SIZE,
    SQLITE_BEGIN,
    SQLITE_POOL_SIZE,
    create_engine_for,
    is_busy,
    lazy_session,
    normalize_url,
    session_scope,
)
from scorecast.store.models import Organization


def test_session_scope_commits_and_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Organization(name="kept"))
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Organization(name="dropped"))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(engine, immediate=True) as session:
        names = session.scalars(select(Organization.name)).all()
    assert names == ["kept"]


def test_foreign_keys_are_enforced_and_errors_hide_parameters(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    from scorecast.store.models import User

    with pytest.raises(IntegrityError) as caught, session_scope(engine) as session:
        session.add(User(org_id="0" * 24, username="orphan-secret"))
    assert "orphan-secret" not in str(caught.value)  # parameters never reach messages or logs


def test_datetimes_come_back_aware_utc(engine: Engine) -> None:
    with session_scope(engine) as session:
        org = Organization(name="o")
        session.add(org)
    with session_scope(engine) as session:
        created = session.scalars(select(Organization.created)).one()
    assert created.utcoffset() is not None
    assert created.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_sqlite_pragmas(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def _try_write(other: Engine) -> str:
    """Insert an organization through ``other`` waiting at most 0.1 s for the write lock."""
    with other.connect() as connection:
        connection.execution_options(**{SQLITE_BEGIN: "DEFERRED"})  # in place
        connection.exec_driver_sql("PRAGMA busy_timeout=100")
        connection.commit()
        try:
            connection.execute(insert(Organization).values(id="1" * 24, name="other"))
            connection.rollback()
        except OperationalError as exc:
            return "locked" if "locked" in str(exc) else str(exc)
        return "written"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_sqlite_transactions_take_the_write_lock_unless_deferred(engine: Engine) -> None:
    other = create_engine_for(engine.url)
    try:
        with session_scope(engine) as session:
            session.execute(select(Organization.id)).all()  # a read only, yet the lock is held
            assert _try_write(other) == "locked"
        with session_scope(engine, deferred=True) as session:
            session.execute(select(Organization.id)).all()
            assert _try_write(other) == "written"
    finally:
        other.dispose()


def test_urls() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(InvalidInput):
        normalize_url("mysql://u@h/db")
    with pytest.raises(InvalidInput):
        normalize_url("not a url")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://u:pw@127.0.0.1/db",
        "postgresql+asyncpg://u:pw@127.0.0.1/db",
        "sqlite+aiosqlite:///x.db",
    ],
)
def test_other_drivers_are_refused_naming_the_supported_urls(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_url(url)
    assert "postgresql+psycopg://" in caught.value.message
    assert "pw" not in caught.value.message


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"]
)
def test_an_in_memory_sqlite_store_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="in-memory SQLite store is not supported"):
        normalize_url(url)


def test_the_supported_urls_keep_their_driver() -> None:
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite+pysqlite:///x.db").drivername == "sqlite"


def test_pool_sizes(tmp_path: Path) -> None:
    """Each store keeps its default number of connections open, or the one chosen
    (``SCORECAST_DATABASE_POOL_SIZE``); PostgreSQL opens as many again at a peak."""
    chosen = Settings.from_env({"SCORECAST_HOME": str(tmp_path)}).database_pool_size
    assert chosen is None
    cases = [
        ("postgresql://u@h/db", None, POSTGRES_POOL_SIZE, POSTGRES_POOL_SIZE),
        ("postgresql://u@h/db", 7, 7, 7),
        (f"sqlite:///{tmp_path / 'a.db'}", None, SQLITE_POOL_SIZE, -1),
        (f"sqlite:///{tmp_path / 'b.db'}", 7, 7, -1),
    ]
    for url, size, kept, more in cases:
        engine = create_engine_for(url, pool_size=size)  # no connection is made
        try:
            assert isinstance(engine.pool, QueuePool)
            assert (engine.pool.size(), engine.pool._max_overflow) == (kept, more)
        finally:
            engine.dispose()
    env = {"SCORECAST_HOME": str(tmp_path)}
    assert Settings.from_env({**env, "SCORECAST_DATABASE_POOL_SIZE": "30"}).database_pool_size == 30
    for bad in ("0", "many", "-3"):
        with pytest.raises(InvalidInput, match="SCORECAST_DATABASE_POOL_SIZE"):
            Settings.from_env({**env, "SCORECAST_DATABASE_POOL_SIZE": bad})


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_sqlite_reads_go_on_while_a_writer_holds_the_lock(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Organization(id="2" * 24, name="committed"))
    reader_engine = create_engine_for(engine.url, connect_args={"timeout": 0})
    try:
        with session_scope(engine, immediate=True) as writer:
            writer.add(Organization(id="3" * 24, name="not yet"))
            writer.flush()  # the write lock is held, the row is not committed
            reader = lazy_session(reader_engine, write=False)
            try:
                reader.connection().exec_driver_sql("PRAGMA busy_timeout=0")  # never waits
                names = reader.scalars(select(Organization.name)).all()
                assert names == ["committed"]
                # the same read transaction cannot start writing while the writer holds the lock
                reader.add(Organization(id="4" * 24, name="reader"))
                with pytest.raises(OperationalError) as caught:
                    reader.flush()
                assert is_busy(caught.value)
            finally:
                reader.rollback()
                reader.close()
    finally:
        reader_engine.dispose()
    with session_scope(engine, deferred=True) as session:
        assert sorted(session.scalars(select(Organization.name)).all()) == ["committed", "not yet"]


def test_is_busy_is_only_the_store_answering_busy() -> None:
    locked = OperationalError("BEGIN", {}, Exception("database is locked"))
    assert is_busy(locked)
    assert not is_busy(OperationalError("SELECT", {}, Exception("no such table: x")))
    assert not is_busy(RuntimeError("database is locked"))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_lazy_session_begins_with_its_first_statement(engine: Engine) -> None:
    other = create_engine_for(engine.url)
    # after the store's own settings (a 30 s busy timeout): another connection never waits
    event.listen(other, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=0"))
    try:
        with session_scope(other, immediate=True) as holder:
            holder.add(Organization(id="5" * 24, name="held"))
            holder.flush()  # another connection holds the write lock
            writer = lazy_session(engine, write=True)  # no BEGIN IMMEDIATE yet: no waiting
            reader = lazy_session(engine, write=False)
            try:
                assert reader.scalars(select(Organization.name)).all() == []  # beside the holder
            finally:
                reader.close()
        try:  # the holder committed: the writer's first statement takes the write lock
            assert writer.scalars(select(Organization.name)).all() == ["held"]
            with pytest.raises(OperationalError) as caught, other.connect() as third:
                third.exec_driver_sql("SELECT 1")  # begins with BEGIN IMMEDIATE: busy at once
            assert is_busy(caught.value)
        finally:
            writer.rollback()
            writer.close()
    finally:
        other.dispose()
