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
  timeout), so its reads and writes see one state. Writing requests queue for their turn on the
  event loop first (``asyncio.Lock``, first come first served), so a request waiting to write
  holds no thread of the thread pool: the writer's next step (its handler, its commit, each a
  hop to the pool) never waits for a thread held by requests waiting for it;
- a read that finds its token's ``last_used`` due for an update notes it after the response is
  sent, as a short writer of its own (``request.state.stale_token``, see ``api/auth.py``);
- when the store answers busy (``store.db.is_busy``): a read that turned out to write and met a
  writer, or a write that waited out the busy timeout, the whole unit (handler and commit) runs
  again, as a writer, up to ``ATTEMPTS`` times; the request's body was read once and is reused.

PostgreSQL needs none of this (MVCC readers never wait), and the same code runs there.

``StreamingRoute`` is for handlers that receive or send a long body (localFile uploads and
downloads): they run their own short transactions (``session_scope``) between pieces of the
body and never use the request's unit, so they take no writer's turn: an upload that streams
for minutes must not make every other writing request wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Final

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from scorecast.service import accounts
from scorecast.store.db import begin_session, is_busy, session_scope

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

    #: whether a writing request waits for its turn among this process's SQLite writers
    takes_turn: bool = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_turn = self.takes_turn

        async def run_unit(request: Request) -> Response:
            write = request.method not in READ_METHODS
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    async with _turn(request.app.state, write=write and takes_turn):
                        response = await _attempt(handler, request, write=write)
                except Exception as exc:
                    if not is_busy(exc) or attempt == ATTEMPTS:
                        raise
                    write = True  # a read that wrote, or a writer that timed out: as a writer
                    continue
                _note_token_use(request, response)
                return response
            raise AssertionError("unreachable")  # the last attempt returns or raises

        return run_unit


class StreamingRoute(TransactionRoute):
    """A route whose handler streams a long body and runs its own short transactions (see the
    module docstring): it takes no writer's turn for the length of the body."""

    takes_turn = False


async def _attempt(
    handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request, *, write: bool
) -> Response:
    unit = RequestUnit(request.app.state.engine, write=write)
    request.state.unit = unit
    request.state.stale_token = None
    try:
        response = await handler(request)
        if unit.used:
            await run_in_threadpool(unit.commit)
        return response
    finally:
        if unit.used:
            await run_in_threadpool(unit.close)


@asynccontextmanager
async def _turn(app_state: State, *, write: bool) -> AsyncIterator[None]:
    """A writer's turn on SQLite (first come first served); nothing for readers or PostgreSQL."""
    engine: Engine = app_state.engine
    if not write or engine.dialect.name != "sqlite":
        yield
        return
    writers = getattr(app_state, "sqlite_writers", None)
    if writers is None:
        writers = app_state.sqlite_writers = asyncio.Lock()
    async with writers:
        yield


def _note_token_use(request: Request, response: Response) -> None:
    """Note a read's token use after its response is sent (see the module docstring)."""
    token_id = getattr(request.state, "stale_token", None)
    if token_id is None:
        return
    state = request.app.state

    async def note() -> None:
        async with _turn(state, write=True):
            await run_in_threadpool(_touch, state.engine, token_id)

    earlier = response.background

    async def after() -> None:
        if earlier is not None:
            await earlier()
        await note()

    response.background = BackgroundTask(after)


def _touch(engine: Engine, token_id: str) -> None:
    with session_scope(engine, immediate=True) as session:
        accounts.touch_token(session, token_id)
