"""The writer gate: one SQLite write transaction at a time per database, the others queued.

SQLite has a single writer. Without the gate, every thread that wants to write waits in
SQLite's busy handler, which polls with growing sleeps (up to 100 ms) and serves no one in
order: with dozens of writers some poll past the busy timeout and fail with "database is
locked" although the lock was free most of the time, and a writer that slept 25 to 100 ms finds
the lock taken again by one that came later.

The gate has two parts:

- a lock of the engine: a thread of this process that begins a write transaction (``BEGIN
  IMMEDIATE``) first waits for it, first come first served;
- for a database file, a lock of the file ``<database>-writers`` beside it (``flock``), taken
  by the thread holding the engine's lock: so one thread per process, at most, asks for it,
  and the processes sharing the database (``serve``'s extra API processes, a CLI command
  beside the service) take turns on it, polling every few milliseconds, instead of meeting in
  SQLite's busy handler. An in-memory database has the first part only, and so does every
  database on Windows (no ``flock``).

Contract: the gate is taken in the ``begin`` event of a write transaction and given back once
that transaction has committed or rolled back (after the database's own ``COMMIT``, so the
next writer finds SQLite's lock free; or when its connection returns to the pool or is thrown
away), from whatever thread ends it. A thread waits at most the busy timeout for each part and
then begins anyway, leaving the wait to SQLite: the gate orders writers, SQLite's lock keeps
them apart. Readers (``BEGIN DEFERRED``) never touch the gate.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, event

if sys.platform != "win32":  # Windows has no flock: its gate is the engine's lock alone
    import fcntl

#: In a connection's ``info`` while it holds the gate: whether it holds the file's part too.
_HELD: Final = "scorecast_writer_gate"
#: The file lock's polls: the first pause and the longest (seconds).
FIRST_PAUSE: Final = 0.0005
LONGEST_PAUSE: Final = 0.004


_GATES: weakref.WeakKeyDictionary[Engine, WriterGate] = weakref.WeakKeyDictionary()


class _FileLock:
    """An exclusive ``flock`` on one file, opened once per process (a forked child opens its
    own: a lock held through an inherited descriptor would be its parent's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self._pid = 0

    def acquire(self, wait_seconds: float) -> bool:
        """Take the lock, polling for at most ``wait_seconds``; whether it was taken."""
        fd = self._descriptor()
        deadline = time.monotonic() + wait_seconds
        pause = FIRST_PAUSE
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _descriptor(self) -> int:
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
            weakref.finalize(self, os.close, self._fd)  # closed with its engine
        return self._fd


class WriterGate:
    """The lock of one engine's writers and, for a file, of every process's (see the module
    docstring)."""

    def __init__(self, wait_seconds: float, database: Path | None = None) -> None:
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._file = None
        if database is not None and sys.platform != "win32":
            self._file = _FileLock(database.with_name(database.name + "-writers"))

    @property
    def taken(self) -> bool:
        """Whether a thread of this process holds the gate, or waits at its file part."""
        return self._lock.locked()

    def enter(self, info: dict[Any, Any]) -> None:
        """Wait for the gate (at most ``wait_seconds`` for each part) for the connection whose
        ``info``."""
        if _HELD in info or not self._lock.acquire(timeout=self.wait_seconds):
            return
        try:
            info[_HELD] = self._file is not None and self._file.acquire(self.wait_seconds)
        except BaseException:
            self._lock.release()
            raise

    def leave(self, info: dict[Any, Any]) -> None:
        """Give the gate back if the connection whose ``info`` holds it."""
        if _HELD not in info:
            return
        try:
            if info.pop(_HELD) and self._file is not None:
                self._file.release()
        finally:
            self._lock.release()


def install_writer_gate(
    engine: Engine, wait_seconds: float, database: Path | None = None
) -> WriterGate:
    """Give ``engine`` a writer gate (``database``: the file, for the processes' part);
    ``enter(connection.info)`` must be called by the engine's ``begin`` listener before it
    emits ``BEGIN IMMEDIATE``."""
    gate = _GATES[engine] = WriterGate(wait_seconds, database)
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    # After the database's own COMMIT/ROLLBACK (the engine's "commit" and "rollback" events
    # come before it): the dialect is this engine's own object.
    def do_commit(connection: Any) -> None:
        try:
            commit(connection)
        finally:
            _leave(gate, connection)

    def do_rollback(connection: Any) -> None:
        try:
            rollback(connection)
        finally:
            _leave(gate, connection)

    setattr(dialect, "do_commit", do_commit)  # noqa: B010 - an instance's method, replaced
    setattr(dialect, "do_rollback", do_rollback)  # noqa: B010

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        gate.leave(record.info)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _error: Any) -> None:
        gate.leave(record.info)

    return gate


def writer_gate(engine: Engine) -> WriterGate | None:
    """The gate of ``engine`` (None when it has none: not SQLite)."""
    return _GATES.get(engine)


def _leave(gate: WriterGate, connection: Any) -> None:
    """``gate.leave`` for a pool's connection (the engine's first connect hands the dialect
    one without an ``info``: it never held the gate)."""
    try:
        info = connection.info
    except NotImplementedError:
        return
    gate.leave(info)
