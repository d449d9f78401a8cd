"""Engines and transactions on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import OperationalError

from scorecast.errors import InvalidInput
from scorecast.store.db import SQLITE_BEGIN, create_engine_for, normalize_url, session_scope
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
