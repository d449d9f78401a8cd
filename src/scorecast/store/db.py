"""Engines, sessions and migrations for the store (SQLite or PostgreSQL).

- :func:`create_engine_for` builds an engine with the settings each backend needs: SQLite gets
  WAL (checkpointed every 40 MB), a page cache of up to 64 MB per connection, a busy timeout
  and foreign keys, and transactions that really start with ``BEGIN`` (so DDL is transactional
  and ``BEGIN IMMEDIATE`` is available), its writers queued at a gate of the engine
  and of the database file (``store/sqlite_gate.py``); PostgreSQL goes through psycopg 3.
- :func:`session_scope` is one transaction: commit on success, rollback on error;
  :func:`lazy_session` makes one for a caller that ends it itself (the API's request units).
- :func:`is_busy` tells an error that means "the store was busy, run the unit again" (SQLite's
  ``SQLITE_BUSY``/``SQLITE_LOCKED``: the busy timeout ran out, or a deferred transaction that read
  could not start writing because another connection wrote meanwhile).
- :func:`migrate` upgrades a database to the newest Alembic revision; it is safe to run from
  several processes at once (PostgreSQL: an advisory lock; SQLite: ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from scorecast.errors import InvalidInput
from scorecast.store.sqlite_gate import install_writer_gate

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: Connection execution option: SQLite transactions start with ``BEGIN IMMEDIATE`` (take the
#: write lock at once) unless this is ``"DEFERRED"`` (a read-only transaction that must not
#: wait for writers); ignored on PostgreSQL.
SQLITE_BEGIN = "scorecast_sqlite_begin"

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: The WAL's size, in 4 KiB pages, past which a committing connection copies it into the
#: database (SQLite's default is 1,000: 4 MB). A scheduler batch of a thousand fires dirties
#: several MB of index pages, so at 1,000 nearly every batch paid a checkpoint (two fsyncs and
#: a copy of pages that the next batch dirties again); at 10,000 (40 MB of WAL at most) a burst
#: checkpoints a tenth as often and its commits cost a third less.
SQLITE_WAL_CHECKPOINT_PAGES = 10_000
#: The most a SQLite connection caches of the database, in KiB (SQLite's default is 2 MB). A
#: scheduler batch or a large delete touches more index pages than that: at 2 MB they were read
#: again and again from the file, and a big transaction spilled dirty pages before its commit.
#: The cache fills only as pages are read; its pages are dropped whenever another connection
#: writes, but the memory stays with the connection (up to 64 MB for each one the pool keeps).
SQLITE_CACHE_KIB = 65_536
#: Connections a SQLite engine keeps open (more are opened, and closed again, when needed).
SQLITE_POOL_SIZE = 10
#: Connections a PostgreSQL engine keeps open; as many more are opened at a peak, and closed
#: again when returned (``SCORECAST_DATABASE_POOL_SIZE``).
POSTGRES_POOL_SIZE = 20

_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)


#: the store's URL forms: SQLite files through the standard library's driver, PostgreSQL
#: through psycopg 3 (``postgresql://`` and ``postgres://`` get it)
SUPPORTED_URLS = "sqlite:///PATH, postgresql://... or postgresql+psycopg://..."
_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def normalize_url(url: str | URL) -> URL:
    """The SQLAlchemy URL to use: plain ``postgresql://`` URLs get the psycopg 3 driver.

    ``InvalidInput`` for another database or driver (``postgresql+psycopg2://``, ...), and for
    an in-memory SQLite database, which each connection (and the migrating child process)
    would see empty. The message never holds the URL (it may hold a password).
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise InvalidInput.at("SCORECAST_DATABASE_URL", f"is not a database URL: {exc}") from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise InvalidInput.at(
            "SCORECAST_DATABASE_URL",
            f"{parsed.drivername}:// is not supported; the store takes {SUPPORTED_URLS} URLs",
        )
    parsed = parsed.set(drivername=driver)
    if driver == "sqlite" and _in_memory(parsed):
        raise InvalidInput.at(
            "SCORECAST_DATABASE_URL",
            "an in-memory SQLite store is not supported: name a file, sqlite:///PATH",
        )
    return parsed


def _in_memory(url: URL) -> bool:
    """Whether a SQLite URL names no file (``sqlite://``, ``:memory:``, ``mode=memory``)."""
    database = url.database or ""
    return database in ("", ":memory:") or url.query.get("mode") == "memory"


def create_engine_for(url: str | URL, *, pool_size: int | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the store's per-backend settings (see the module docstring).

    ``pool_size``: the connections kept open (``SCORECAST_DATABASE_POOL_SIZE``; default
    ``SQLITE_POOL_SIZE`` or ``POSTGRES_POOL_SIZE``). A SQLite file's parent folder is created
    when missing.
    """
    parsed = normalize_url(url)
    # Statement parameters never appear in error messages or logs (they may hold user data).
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        on_disk: Path | None = None
        if database and database != ":memory:" and not database.startswith("file:"):
            on_disk = Path(database).expanduser()
            on_disk.parent.mkdir(parents=True, exist_ok=True)
        connect_args = {
            "check_same_thread": False,
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            **kwargs.pop("connect_args", {}),
        }
        if database and database != ":memory:" and "poolclass" not in kwargs:
            # Connections to a file are cheap and a writer may wait at the gate holding one:
            # never let request threads wait for the pool (its timeout would be a 500).
            kwargs.setdefault("pool_size", pool_size or SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", -1)
            # the connection used last is used next: its cache is the warmest
            kwargs.setdefault("pool_use_lifo", True)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, on_disk)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        # As many connections as a process's threads use at once (the API's threads, the
        # worker's and the scheduler's lanes): with SQLAlchemy's 5 kept and 10 more, requests
        # waited for a connection, and each one past the fifth was a new PostgreSQL backend,
        # closed again on return.
        size = pool_size or POSTGRES_POOL_SIZE
        kwargs.setdefault("pool_size", size)
        kwargs.setdefault("max_overflow", size)
    return create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine, database: Path | None) -> None:
    gate = install_writer_gate(engine, SQLITE_BUSY_TIMEOUT_MS / 1000, database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite: we emit BEGIN ourselves (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Every transaction takes the write lock when it begins unless it asks for DEFERRED:
        # a deferred transaction that reads and then writes fails at once with "database is
        # locked" (SQLite does not wait for a reader to upgrade) whenever another connection
        # holds the write lock, which the service's worker and scheduler do all the time.
        # Writers queue at the gate first, this process's and the file's (``store/sqlite_gate.py``).
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode == "DEFERRED":
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        gate.enter(connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.leave(connection.info)
            raise


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def lazy_session(engine: Engine, *, write: bool) -> Session:
    """A session for a caller that ends it itself (commits or rolls back, and closes it). Made
    without I/O: its transaction begins with its first statement, on SQLite with ``BEGIN
    IMMEDIATE`` when ``write`` (the write lock, waiting up to the busy timeout), else ``BEGIN
    DEFERRED`` (reads beside any writer, never waiting); so it can be made on an event loop
    and used in a worker thread."""
    bind = _begin_options(engine)[write]
    return Session(bind=bind, expire_on_commit=False)


def _begin_options(engine: Engine) -> tuple[Engine, Engine]:
    """The engine's two views (deferred, immediate) whose connections begin as named; one pair
    per engine, made once (a view is cheap to use, not to make)."""
    views = _BEGIN_VIEWS.get(engine)
    if views is None:
        views = _BEGIN_VIEWS[engine] = (
            engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"}),
            engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}),
        )
    return views


_BEGIN_VIEWS: weakref.WeakKeyDictionary[Engine, tuple[Engine, Engine]] = weakref.WeakKeyDictionary()


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` is the store answering busy (SQLite ``SQLITE_BUSY``/``SQLITE_LOCKED``,
    any extended code): running the whole unit of work again can succeed."""
    if not isinstance(error, OperationalError):
        return False
    code = getattr(error.orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _SQLITE_BUSY_CODES
    return "database is locked" in str(error.orig)


@contextmanager
def session_scope(
    engine: Engine, *, immediate: bool = False, deferred: bool = False
) -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back if it raises.

    On SQLite every transaction takes the write lock when it begins (``immediate`` is kept for
    callers that want to say so); ``deferred=True`` is for read-only blocks that must not wait
    for writers. Both change nothing on PostgreSQL.
    """
    session = Session(bind=engine, expire_on_commit=False)
    try:
        if engine.dialect.name == "sqlite" and (immediate or deferred):
            mode = "DEFERRED" if deferred and not immediate else "IMMEDIATE"
            session.connection(execution_options={SQLITE_BEGIN: mode})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | URL) -> Any:
    """The Alembic ``Config`` for the store's migrations, pointed at ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    rendered = normalize_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def migrate(url: str | URL, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest). Idempotent."""
    from alembic import command

    engine = create_engine_for(url, poolclass=_null_pool())
    try:
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (``None`` for an empty database)."""
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool
