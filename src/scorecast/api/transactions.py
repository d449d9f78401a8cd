"""One request, one unit of work: the request's session, its commit, and retries on a busy store.

``TransactionRoute`` (the route class of every API router) runs the handler with a
``RequestUnit`` in ``request.state``; the ``session`` dependency (``api/deps.py``) takes the
unit's session, begun on first use. The unit commits when the handler returns (before the
response is sent: a client that reads right after a 2xx sees the change) and rolls back when it
raises.

On SQLite (one writer at a time, readers beside it in WAL):

- a ``GET``/``HEAD``/``OPTIONS`` request reads in a deferred transaction: it never takes or
  waits for the write lock, so a writer (the scheduler, a worker, a submission) never delays it;
- any other method begins with ``BEGIN IMMEDIATE`` (the write lock, waiting up to the busy
  timeout), so its reads and writes see one state;
- when the store answers busy (``store.db.is_busy``): a read that turned out to write and met a
  writer, or a write that waited out the busy timeout, the whole unit (handler and commit) runs
  again, as a writer, up to ``ATTEMPTS`` times; the request's body was read once and is reused.

PostgreSQL needs none of this (MVCC readers never wait), and the same code runs there.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from scorecast.store.db import begin_session, is_busy

#: How many times a request's unit of work runs at most when the store answers busy.
ATTEMPTS: Final = 3

#: Methods whose handlers only read: their unit never takes the write lock first.
READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestUnit:
    """The session of one attempt at a request (begun on first use) and its end."""

    def __init__(self, engine: Engine, *, write: bool) -> None:
        self.engine = engine
        self.write = write
        self._session: Session | None = None

    @property
    def used(self) -> bool:
        return self._session is not None

    def session(self) -> Session:
        if self._session is None:
            self._session = begin_session(self.engine, write=self.write)
        return self._session

    def commit(self) -> None:
        if self._session is not None:
            self._session.commit()

    def close(self) -> None:
        """Roll back whatever was not committed and give the connection back."""
        if self._session is not None:
            try:
                self._session.rollback()
            finally:
                self._session.close()
                self._session = None


def request_unit(request: Request) -> RequestUnit:
    """The unit of work of the request being handled (see ``TransactionRoute``)."""
    unit = getattr(request.state, "unit", None)
    if not isinstance(unit, RequestUnit):
        raise RuntimeError(f"{request.url.path} is not served by a TransactionRoute")
    return unit


class TransactionRoute(APIRoute):
    """An API route whose handler runs as one unit of work (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_unit(request: Request) -> Response:
            engine: Engine = request.app.state.engine
            write = request.method not in READ_METHODS
            for attempt in range(1, ATTEMPTS + 1):
                unit = RequestUnit(engine, write=write)
                request.state.unit = unit
                try:
                    response = await handler(request)
                    if unit.used:
                        await run_in_threadpool(unit.commit)
                    return response
                except Exception as exc:
                    if not (unit.used and is_busy(exc)) or attempt == ATTEMPTS:
                        raise
                    write = True  # a read that wrote, or a writer that timed out: as a writer
                finally:
                    if unit.used:
                        await run_in_threadpool(unit.close)
            raise AssertionError("unreachable")  # the last attempt returns or raises

        return run_unit
