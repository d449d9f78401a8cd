"""The writer gate: one SQLite write transaction at a time per engine, the others queued.

SQLite has a single writer. Without the gate, every thread that wants to write waits in
SQLite's busy handler, which polls with growing sleeps (up to 100 ms) and serves no one in
order: with dozens of writers some poll past the busy timeout and fail with "database is
locked" although the lock was free most of the time. With the gate, a thread of this process
that begins a write transaction (``BEGIN IMMEDIATE``) first waits for the engine's lock, so at
most one connection of the process waits in the busy handler (for writers of other processes).

Contract: the gate is taken in the ``begin`` event of a write transaction and given back when
that transaction commits or rolls back (or its connection returns to the pool or is thrown
away), from whatever thread ends it. A thread waits at most the busy timeout for the gate and
then begins anyway, leaving the wait to SQLite: the gate orders writers, SQLite's lock keeps
them apart. Readers (``BEGIN DEFERRED``) never touch the gate.
"""

from __future__ import annotations

import threading
from typing import Any, Final

from sqlalchemy import Connection, Engine, event

_HELD: Final = "scorecast_writer_gate"


class WriterGate:
    """The lock of one engine's writers (see the module docstring)."""

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()

    def enter(self, info: dict[Any, Any]) -> None:
        """Wait for the gate (at most ``wait_seconds``) for the connection whose ``info``."""
        if info.get(_HELD):
            return
        info[_HELD] = self._lock.acquire(timeout=self.wait_seconds)

    def leave(self, info: dict[Any, Any]) -> None:
        """Give the gate back if the connection whose ``info`` holds it."""
        if info.pop(_HELD, False):
            self._lock.release()


def install_writer_gate(engine: Engine, wait_seconds: float) -> WriterGate:
    """Give ``engine`` a writer gate; ``begin_write(connection)`` must be called by the
    engine's ``begin`` listener before it emits ``BEGIN IMMEDIATE``."""
    gate = WriterGate(wait_seconds)

    @event.listens_for(engine, "commit")
    def _on_commit(connection: Connection) -> None:
        gate.leave(connection.info)

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Connection) -> None:
        gate.leave(connection.info)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        gate.leave(record.info)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _error: Any) -> None:
        gate.leave(record.info)

    return gate
