"""Group commit for SQLite: the units of work waiting to write share one write transaction.

SQLite has one writer at a time (``store/sqlite_gate.py`` queues them). Under load, what a
short writer costs is mostly the turn itself, not its statements: the gate handed over between
threads and processes, ``BEGIN IMMEDIATE`` and ``COMMIT``, and, in a busy process, every time
the writer gives the GIL away around a statement and waits to get it back, while every other
writer waits for the lock it holds.

``WriteBatches.run(work)`` runs ``work(connection)`` in a write transaction shared with the
work of other threads that ask while it is open:

- the first thread to ask (the leader) begins the transaction (``BEGIN IMMEDIATE`` through the
  gate) and runs its own work; whoever asks meanwhile, also while the leader waits at the gate,
  hands its work to the leader and waits;
- the leader runs the handed-over work in turn, each in its caller's context (its context
  variables), until none is left, then commits once; past ``most`` works it commits those and
  hands the rest on, the first of them leading the next transaction;
- each work runs in a savepoint of its own, its session joined to the connection with
  ``join_transaction_mode="create_savepoint"`` (``run_in_session`` makes that session; the
  API's request units join theirs, see ``api/transactions.py``): a work that fails is rolled
  back alone and its caller gets its error; the others commit;
- every caller gets its result only once the transaction has committed (a caller that answers
  right away tells its client of a change that is in the database); when the transaction
  cannot begin or commit, or the database rolled it back itself (SQLite does on a full disk or
  an I/O error, savepoints or not: ``TransactionLost``), every caller whose work had succeeded
  gets that error instead, and the work still waiting is not run;
- when every work failed, the transaction is rolled back instead of committed.

The transaction's work runs in the leader's thread one after another, so no two works use the
connection at once; the callers wait in their own threads.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

T = TypeVar("T")

#: The most units of work one transaction runs.
MOST: Final = 32


class TransactionLost(RuntimeError):
    """A batch's transaction ended under its members: what they wrote is gone."""


class _Member(Generic[T]):
    """One caller's work, its context and its outcome."""

    __slots__ = ("context", "done", "error", "lead", "result", "work")

    def __init__(self, work: Callable[[Connection], T]) -> None:
        self.work = work
        self.context = contextvars.copy_context()
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        #: set instead of an outcome: the batch this member is to lead (a full batch's rest)
        self.lead: _Batch | None = None

    def run(self, connection: Connection) -> None:
        try:
            self.result = self.context.run(self.work, connection)
        except BaseException as exc:  # the caller's error, given to the caller
            self.error = exc

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class _Batch:
    __slots__ = ("members",)

    def __init__(self, members: Iterable[_Member[Any]] = ()) -> None:
        self.members: deque[_Member[Any]] = deque(members)


class WriteBatches:
    """The shared write transactions of one engine (see the module docstring)."""

    def __init__(self, engine: Engine, most: int = MOST) -> None:
        self.engine = engine
        self.most = most
        self._lock = threading.Lock()
        self._open: _Batch | None = None

    @property
    def waiting(self) -> int:
        """How many callers wait in the open batch for its leader to run their work."""
        with self._lock:
            return len(self._open.members) if self._open is not None else 0

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)``, run in a write transaction that may hold other callers' work;
        returns its result, or raises its error, after the commit. ``work`` makes its own
        savepoint (see the module docstring): without one, what it wrote before failing would
        be committed with the others' work."""
        member = _Member(work)
        with self._lock:
            batch = self._open
            follows = batch is not None
            if batch is None:
                batch = self._open = _Batch()
            else:
                batch.members.append(member)
        if follows:
            member.done.wait()
            if member.lead is None:
                return member.outcome()
            batch = member.lead
        return self._lead(batch, member)

    def run_in_session(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` as ``run`` runs a work: the session is in a savepoint of the
        batch's transaction; its changes are kept when ``work`` returns."""

        def in_session(connection: Connection) -> T:
            session = Session(bind=connection, join_transaction_mode="create_savepoint")
            try:
                result = work(session)
                session.commit()
            finally:
                session.close()
            return result

        return self.run(in_session)

    def _lead(self, batch: _Batch, own: _Member[T]) -> T:
        ran: list[_Member[Any]] = [own]
        try:
            with self.engine.connect() as connection:
                transaction = connection.begin()
                own.run(connection)
                _check_open(connection)
                while True:
                    with self._lock:
                        if not batch.members:
                            self._close(batch)
                            break
                        if len(ran) >= self.most:
                            self._hand_on(batch)
                            break
                        member = batch.members.popleft()
                    ran.append(member)
                    member.run(connection)
                    _check_open(connection)
                if any(member.error is None for member in ran):
                    transaction.commit()
                else:  # every member failed: nothing to keep
                    transaction.rollback()
        except BaseException as exc:
            with self._lock:
                self._close(batch)
                ran.extend(batch.members)
                batch.members.clear()
            for member in ran:
                if member.error is None:
                    member.error = exc
        for member in ran[1:]:
            member.done.set()
        return own.outcome()

    def _hand_on(self, batch: _Batch) -> None:
        """``batch`` is full: the rest of its members become the next batch, led by the first
        (called with the lock held)."""
        rest = _Batch(batch.members)
        batch.members.clear()
        leader = rest.members.popleft()
        if self._open is batch:
            self._open = rest
        leader.lead = rest
        leader.done.set()

    def _close(self, batch: _Batch) -> None:
        """No more members join ``batch`` (called with the lock held)."""
        if self._open is batch:
            self._open = None


def _check_open(connection: Connection) -> None:
    """Raise ``TransactionLost`` if SQLite ended the transaction itself: it rolls a transaction
    back on some errors (a full disk, an I/O error) whatever the savepoints, and what ran
    after would run without one."""
    if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        raise TransactionLost("the write transaction was rolled back by the database")


_BATCHES: weakref.WeakKeyDictionary[Engine, WriteBatches] = weakref.WeakKeyDictionary()
_MADE = threading.Lock()


def write_batches(engine: Engine) -> WriteBatches | None:
    """The write batches of ``engine``, one per engine, made on first use; None when its
    database needs none (not SQLite)."""
    if engine.dialect.name != "sqlite":
        return None
    batches = _BATCHES.get(engine)
    if batches is None:
        with _MADE:
            batches = _BATCHES.get(engine)
            if batches is None:
                batches = _BATCHES[engine] = WriteBatches(engine)
    return batches
