"""One request, one unit of work: the request's session, its commit, and retries on a busy store.

``TransactionRoute`` (the route class of every API router) runs the handler with a
``RequestUnit`` in ``request.state``; the ``session`` dependency (``api/deps.py``) takes the
unit's session, whose transaction begins with its first statement. The unit commits when the
handler returns (before the response is sent: a client that reads right after a 2xx sees the
change) and rolls back when it raises.

What a request costs besides its own work is mostly its hops between the event loop and the
thread pool (each a queue, a thread wake-up and the GIL handed over twice), so a unit makes as
few as it can: a plain (synchronous) handler commits, renders its JSON answer and closes the
unit in the same thread it ran in (``_ending_unit``), instead of a hop each for the commit, the
close and FastAPI's check of the returned value against its return annotation. The rendered
answer is the one FastAPI would have sent (the same ``AsciiJSONResponse``, status code and
headers); a value that ``json`` cannot render as it is is left to FastAPI. A dependency may
also hand its own blocking work to that thread (``RequestUnit.defer``; the token check of
``api/auth.py`` does): the handler gets the value as if the dependency had computed it, and
when the request fails before the handler runs (a query parameter refused, another dependency
raising), the deferred work runs first and its error, if any, is the answer, as when the
dependency ran in its turn.

On SQLite (one writer at a time, readers beside it in WAL):

- a ``GET``/``HEAD``/``OPTIONS`` request, or a route's handler marked ``reads_only`` (a ``POST``
  that only reads, such as a data store's connection test), reads in a deferred transaction: it
  never takes or waits for the write lock, so a writer (the scheduler, a worker, a submission)
  never delays it, and it never holds the lock while it waits for something else;
- any other request writes, and the writing requests that meet share one write transaction
  (``store/write_batches.py``, group commit): the first begins it (``BEGIN IMMEDIATE``, through
  the writer gate), runs its handler, then runs the handlers of those that asked meanwhile,
  each in a savepoint of its own (one that fails is rolled back alone and answers its error),
  and commits once; every one is answered after that commit. Under load, what a short writer
  costs is mostly its turn (the gate handed over, ``BEGIN`` and ``COMMIT``, and the GIL given
  away and waited for around each statement while every other writer waits for the lock): a
  batch pays it once for all its members;
- writers wait for their batch, or for the write lock, in threads of the pool
  (``SCORECAST_API_THREADS``, 8 by default): they may hold all of them but ``READER_THREADS``,
  so a reader always finds a thread, even while another process holds the write lock. Beyond
  that, a writing request waits on the event loop (``_writer_place``), holding no thread;
- a read that finds its token's ``last_used`` due for an update notes it after the response is
  sent, as a short writer in the batch of the moment (``request.state.stale_token``, see
  ``api/auth.py``);
- when the store answers busy (``store.db.is_busy``): a read that turned out to write and met a
  writer, or a write that waited out the busy timeout, the whole unit (handler and commit) runs
  again, as a writer, up to ``ATTEMPTS`` times; the request's body was read once and is reused.

PostgreSQL needs none of this (MVCC readers never wait), and the same code runs there.

``StreamingRoute`` is for handlers that receive or send a long body (localFile uploads and
downloads): they run their own short transactions (``session_scope``) between pieces of the
body and never use the request's unit, so they never hold the write lock while the body
streams: an upload that streams for minutes must not make every other writing request wait.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import typing
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Final, TypeVar, cast

from fastapi import Request, Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from scorecast.api.errors import AsciiJSONResponse
from scorecast.config import Settings
from scorecast.service import accounts
from scorecast.store.db import is_busy, lazy_session, session_scope
from scorecast.store.write_batches import WriteBatches, write_batches

#: How many times a request's unit of work runs at most when the store answers busy.
ATTEMPTS: Final = 3

#: Methods whose handlers only read: their unit never takes the write lock first.
READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
#: Threads of the pool that SQLite writers leave to readers (see the module docstring).
READER_THREADS: Final = 1

T = TypeVar("T")


class _Deferred:
    """A dependency's value, computed in the handler's thread (``RequestUnit.defer``)."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], Any]) -> None:
        self.compute = compute


class RequestUnit:
    """The session of one attempt at a request (begun on first use) and its end."""

    def __init__(
        self,
        engine: Engine,
        *,
        write: bool,
        defers: bool = False,
        batches: WriteBatches | None = None,
    ) -> None:
        self.engine = engine
        self.write = write
        #: whether dependencies may leave blocking work to the handler's thread (``defer``)
        self.defers = defers
        #: the write batches the unit's handler runs in (SQLite writers), else None
        self.batches = batches
        self._session: Session | None = None
        self._pending: list[_Deferred] = []

    def defer(self, compute: Callable[[], T]) -> T:
        """What a dependency returns instead of ``compute()`` (only when ``defers``): the
        handler receives ``compute()``, computed in its own thread just before it runs."""
        deferred = _Deferred(compute)
        self._pending.append(deferred)
        return cast(T, deferred)

    def resolve(self, value: Any) -> Any:
        """``value``, or what it stands for when a dependency deferred it (computed now)."""
        if not isinstance(value, _Deferred):
            return value
        self._pending.remove(value)
        return value.compute()

    def resolve_pending(self) -> None:
        """Compute what is still deferred (the request failed before its handler ran)."""
        while self._pending:
            self._pending.pop(0).compute()

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    @property
    def used(self) -> bool:
        return self._session is not None

    def session(self) -> Session:
        """The unit's session; no I/O: its transaction begins with its first statement."""
        if self._session is None:
            self._session = lazy_session(self.engine, write=self.write)
        return self._session

    @property
    def began(self) -> bool:
        """Whether the unit's session has begun a transaction."""
        return self._session is not None and self._session.in_transaction()

    def join(self, connection: Connection) -> None:
        """Make the unit, not begun yet, run in a savepoint of ``connection``'s transaction
        (a write batch's): its session's commit releases the savepoint, its rollback rolls
        back to it."""
        session = self.session()
        session.bind = connection
        session.join_transaction_mode = "create_savepoint"

    def end(self) -> None:
        """Commit, then give the connection back (``close`` when the commit raises)."""
        try:
            self.commit()
        finally:
            self.close()

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


#: The unit of the attempt being run, in its task and in the threads its handler runs in (the
#: thread pool runs each call in a copy of the caller's context).
_current_unit: ContextVar[RequestUnit | None] = ContextVar("scorecast_request_unit", default=None)


def request_unit(request: Request) -> RequestUnit:
    """The unit of work of the request being handled (see ``TransactionRoute``)."""
    unit = getattr(request.state, "unit", None)
    if not isinstance(unit, RequestUnit):
        raise RuntimeError(f"{request.url.path} is not served by a TransactionRoute")
    return unit


class TransactionRoute(APIRoute):
    """An API route whose handler runs as one unit of work (see the module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        #: whether a request that is not a ``GET`` writes (see ``reads_only``)
        self.writes = not getattr(endpoint, "reads_only", False)
        #: whether the handler runs in one thread with the end of its unit (``_ending_unit``)
        self.ends_unit = _plain_function(endpoint)
        if self.ends_unit:
            endpoint = _ending_unit(endpoint, self)
        super().__init__(path, endpoint, **kwargs)
        # the answer a handler's dict becomes when nothing asks FastAPI for more than JSON:
        # no response model but a plain dict, the default response class, no filtering
        self.renders_json = (
            _plain_dict(self.response_model)
            and (
                isinstance(self.response_class, DefaultPlaceholder)
                or self.response_class is AsciiJSONResponse
            )
        ) and not (
            self.response_model_include
            or self.response_model_exclude
            or self.response_model_exclude_unset
            or self.response_model_exclude_defaults
            or self.response_model_exclude_none
        )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        writes = self.writes
        defers = self.ends_unit

        async def run_unit(request: Request) -> Response:
            write = writes and request.method not in READ_METHODS
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    async with _writer_place(request.app.state, write=write):
                        response = await _attempt(handler, request, write=write, defers=defers)
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
    module docstring): it holds no write lock for the length of the body."""


def reads_only(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a handler whose requests only read, whatever their method (see the module
    docstring): on SQLite its unit reads beside the writers and never holds the write lock."""
    endpoint.reads_only = True  # type: ignore[attr-defined]
    return endpoint


async def _attempt(
    handler: Callable[[Request], Coroutine[Any, Any, Response]],
    request: Request,
    *,
    write: bool,
    defers: bool,
) -> Response:
    engine: Engine = request.app.state.engine
    batches = write_batches(engine) if write and defers else None
    unit = RequestUnit(engine, write=write, defers=defers, batches=batches)
    request.state.unit = unit
    request.state.stale_token = None
    token = _current_unit.set(unit)
    try:
        try:
            response = await handler(request)
        except Exception:
            if unit.pending:  # failed before the handler ran: the deferred work's error first
                await run_in_threadpool(unit.resolve_pending)
            raise
        if unit.used:  # an async handler's unit, still open (a plain one ended it)
            await run_in_threadpool(unit.end)
        return response
    finally:
        _current_unit.reset(token)
        if unit.used:
            await run_in_threadpool(unit.close)


def _plain_dict(model: Any) -> bool:
    """Whether FastAPI's check of a returned value against ``model`` passes a dict of JSON
    values unchanged (no model, ``dict``, ``dict[str, Any]``, ``dict[str, object]``)."""
    if model is None or model is dict:
        return True
    return typing.get_origin(model) is dict and typing.get_args(model) in (
        (str, Any),
        (str, object),
    )


def _plain_function(endpoint: Callable[..., Any]) -> bool:
    """Whether FastAPI runs ``endpoint`` in the thread pool and takes what it returns whole."""
    function = inspect.unwrap(endpoint)
    return not (
        getattr(endpoint, "ends_unit", False)
        or inspect.iscoroutinefunction(function)
        or inspect.isgeneratorfunction(function)
        or inspect.isasyncgenfunction(function)
        or not inspect.isfunction(function)
    )


def _ending_unit(endpoint: Callable[..., Any], route: TransactionRoute) -> Callable[..., Any]:
    """``endpoint``, ending its unit in its own thread (see the module docstring): the answer
    rendered, then the unit committed, or rolled back when the handler raises.

    The wrapper keeps the endpoint's signature, names and return annotation (FastAPI reads them
    through ``__wrapped__``), so parameters and the OpenAPI document are unchanged."""

    @functools.wraps(endpoint)
    def run(**arguments: Any) -> Any:
        unit = _current_unit.get()
        if unit is None:  # not run by a TransactionRoute's handler (e.g. called directly)
            return endpoint(**arguments)

        def work() -> Any:
            try:
                for name, value in arguments.items():
                    arguments[name] = unit.resolve(value)
                result = endpoint(**arguments)
                answer = _rendered(route, result, arguments)
                unit.commit()
            finally:
                unit.close()
            return answer

        def joined(connection: Connection) -> Any:
            unit.join(connection)
            return work()

        if unit.batches is None or unit.began:
            return work()
        return unit.batches.run(joined)

    run.ends_unit = True  # type: ignore[attr-defined]
    return run


def _rendered(route: TransactionRoute, result: Any, arguments: dict[str, Any]) -> Any:
    """``result`` as the JSON response FastAPI would make of it, else ``result`` unchanged.

    FastAPI's way: validate the dict against the return annotation (a hop to the thread pool),
    serialize it, then ``response_class(content, status_code=..., background=...)`` with the
    injected ``Response``'s status code (when set) and headers. A dict of JSON values passes the
    first two unchanged; ``json`` refuses anything else (a datetime, NaN), which goes to FastAPI.
    """
    if not isinstance(result, dict) or not route.renders_json:
        return result
    parameter = route.dependant.response_param_name
    injected = arguments.get(parameter) if parameter else None
    status = route.status_code or 200
    if isinstance(injected, Response) and injected.status_code:
        status = injected.status_code
    if status < 200 or status in (204, 205, 304):  # no body: FastAPI's own handling
        return result
    try:
        body = json.dumps(result, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return result
    response = Response(body.encode("ascii"), status, media_type=AsciiJSONResponse.media_type)
    if isinstance(injected, Response):
        response.headers.raw.extend(injected.headers.raw)
    return response


@asynccontextmanager
async def _writer_place(app_state: State, *, write: bool) -> AsyncIterator[None]:
    """A SQLite writer's place among the pool's threads that writers may hold (all but
    ``READER_THREADS``); nothing for readers or PostgreSQL."""
    engine: Engine = app_state.engine
    if not write or engine.dialect.name != "sqlite":
        yield
        return
    places: asyncio.Semaphore | None = getattr(app_state, "sqlite_writer_places", None)
    if places is None:
        settings: Settings | None = getattr(app_state, "settings", None)
        threads = settings.api_threads if settings is not None else Settings.api_threads
        places = asyncio.Semaphore(max(1, threads - READER_THREADS))
        app_state.sqlite_writer_places = places
    async with places:
        yield


def _note_token_use(request: Request, response: Response) -> None:
    """Note a read's token use after its response is sent (see the module docstring)."""
    token_id = getattr(request.state, "stale_token", None)
    if token_id is None:
        return
    state = request.app.state

    async def note() -> None:
        async with _writer_place(state, write=True):
            await run_in_threadpool(_touch, state.engine, token_id)

    earlier = response.background

    async def after() -> None:
        if earlier is not None:
            await earlier()
        await note()

    response.background = BackgroundTask(after)


def _touch(engine: Engine, token_id: str) -> None:
    batches = write_batches(engine)
    if batches is not None:  # SQLite: with the other writers of the moment
        batches.run_in_session(lambda session: accounts.touch_token(session, token_id))
        return
    with session_scope(engine) as session:
        accounts.touch_token(session, token_id)
