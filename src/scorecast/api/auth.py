"""Authentication: ``Authorization: Token <token>`` (the datarobot client's default) or
``Authorization: Bearer <token>``. Anything else is a 401 with a JSON body."""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from scorecast.api.deps import SessionDep, engine_of
from scorecast.api.transactions import request_unit
from scorecast.errors import AuthenticationFailed
from scorecast.service import accounts
from scorecast.service.caller import Caller

_SCHEMES = {"token", "bearer"}


def token_from_header(value: str | None) -> str:
    """The token in an ``Authorization`` header value; AuthenticationFailed when absent/odd."""
    if not value or not value.strip():
        raise AuthenticationFailed(
            "authentication required: send the header 'Authorization: Token <your API token>'"
        )
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() not in _SCHEMES or not token.strip():
        raise AuthenticationFailed(
            "the Authorization header must be 'Token <token>' or 'Bearer <token>'"
        )
    return token.strip()


async def caller(request: Request, session: SessionDep) -> Caller:
    """The authenticated caller of this request (a FastAPI dependency).

    The check reads the store, so it runs in a thread: the handler's own, when the route
    allows it (``RequestUnit.defer``: one hop to the thread pool less on every request, and
    still checked on every request), else one of its own.
    """
    unit = request_unit(request)
    if unit.defers:
        return unit.defer(functools.partial(_identified, request, session))
    return await run_in_threadpool(_identified, request, session)


def _identified(request: Request, session: Session) -> Caller:
    """The check itself. A writing request notes its token's ``last_used`` (when due) in its
    own transaction; a read-only one after its response, in a short write of its own
    (``api/transactions.py``), so that its reads never take the write lock."""
    token = token_from_header(request.headers.get("authorization"))
    found, stale_token = accounts.identify(session, token)
    if stale_token is not None:
        if request_unit(request).write:
            accounts.touch_token(session, stale_token)
        else:
            request.state.stale_token = stale_token
    request.state.caller = found
    return found


CallerDep = Annotated[Caller, Depends(caller)]


async def streaming_caller(request: Request) -> Caller:
    """The authenticated caller of a ``StreamingRoute`` request, which has no unit of work:
    the lookup and its ``last_used`` note are short transactions of their own."""
    token = token_from_header(request.headers.get("authorization"))
    return await run_in_threadpool(accounts.authenticate_reading, engine_of(request), token)
