"""Every error answer: ``{"message": ..., "errors": {field: problem}}`` with the content type
exactly ``application/json`` (the datarobot client parses JSON only then) and ASCII-only text.

- ScorecastError → its ``status_code`` (422, 404, 409, 401 ...).
- Request validation (wrong types, malformed JSON, missing fields) → 422 naming the field.
- Unknown route / method → 404 / 405, JSON too.
- A body over its size limit (``body_limits``) → 422 naming the field and the setting.
- The store unreachable, out of connections or busy beyond the request's retries (SQLAlchemy's
  ``OperationalError``, ``InterfaceError``, a pool ``TimeoutError``) → 503 with ``Retry-After``:
  nothing of the request was committed, so the client may send it again (the datarobot client
  does); the traceback goes to the server log.
- Anything unexpected → 500 with ``x-request-id`` and ``Connection: close``; the traceback
  goes to the server log only.

Caller mistakes never get 413, 429 or 5xx: the client retries those, POST included.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scorecast import log_format
from scorecast.api.body_limits import BodyTooLarge
from scorecast.errors import ScorecastError

log = logging.getLogger("scorecast.api")

REQUEST_ID_HEADER = "x-request-id"

#: Statuses the datarobot client retries; a caller's mistake must never be answered with them.
_RETRIED = {413, 429, 502, 503, 504}


class AsciiJSONResponse(JSONResponse):
    """JSON with ``Content-Type: application/json`` exactly and ``\\uXXXX`` escapes (a
    ``JSONResponse``, so that the OpenAPI document describes the routes' bodies as JSON)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_response(
    status_code: int,
    message: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> AsciiJSONResponse:
    return AsciiJSONResponse(
        {"message": message, "errors": errors or {}}, status_code=status_code, headers=headers
    )


def request_id(request: Request) -> str:
    """This request's id (also sent as the ``x-request-id`` response header)."""
    value = getattr(request.state, "request_id", None)
    if not isinstance(value, str):
        value = secrets.token_hex(8)
        request.state.request_id = value
    return value


class RequestIdMiddleware:
    """Gives every request an id, echoed in the ``x-request-id`` response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ident = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = ident
        log_format.request_id.set(ident)  # this request's task: its log lines carry the id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", ident.encode("ascii")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


async def _scorecast_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScorecastError)
    status = exc.status_code if 400 <= exc.status_code < 500 else 500
    if status == 500:
        return await _unexpected(request, exc)
    headers = {"WWW-Authenticate": "Token"} if status == 401 else None
    return error_response(status, exc.message, exc.errors, headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, Any] = {}
    problems: list[str] = []
    for item in exc.errors():
        if item.get("type") == "json_invalid":
            location = ["body"]
        else:
            location = _field_path(item.get("loc", ()))
        problem = _problem(item)
        if location == ["body"] and not _sent_as_json(request):
            problem += "; send it as JSON, with the header Content-Type: application/json"
        _put(errors, location, problem)
        problems.append(f"{'.'.join(location)}: {problem}")
    message = "Invalid request: " + "; ".join(problems) if problems else "Invalid request"
    return error_response(422, message, errors)


def _sent_as_json(request: Request) -> bool:
    """Whether the request says its body is JSON (without it, FastAPI reads the body as text,
    and a JSON object answers "should be a valid dictionary")."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, BodyTooLarge):
        limit = exc.limit
        return error_response(422, str(exc.detail), {limit.field: limit.problem()})
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    headers = dict(exc.headers or {})
    if status == 400:
        # the framework could not read the body (not UTF-8, broken multipart): the body is
        # invalid, 422 as for malformed JSON
        cause = f" ({exc.__cause__})" if exc.__cause__ is not None else ""
        problem = f"cannot be read: {detail.rstrip('.')}{cause}"
        return error_response(422, f"body: {problem}", {"body": problem})
    if status in _RETRIED:
        status = 400
    if status == 404 and detail == "Not Found":
        detail = f"no such API route: {request.method} {request.url.path}"
    elif status == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(status, detail, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app takes on this request's path (Starlette's own 405
    names only the first route that matched the path)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


async def _data_error(request: Request, exc: Exception) -> Response:
    # The database refused a value the caller sent (a NUL character, a number out of range):
    # the caller's mistake, so 422, without the SQL or the driver's wording.
    log.info("database refused a value in %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        422,
        "a value in the request cannot be stored (e.g. it contains a NUL character or a number"
        " out of range)",
        {"body": "contains a value the store cannot hold"},
    )


#: seconds a client is asked to wait before it sends a request the store could not serve again
STORE_RETRY_AFTER = 5


def _logged(request: Request, exc: Exception, what: str) -> str:
    """Log ``exc`` with its traceback (server log only); the request's id."""
    ident = request_id(request)
    log.error(
        "%s %s %s (request id %s)", what, request.method, request.url.path, ident, exc_info=exc
    )
    return ident


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    ident = _logged(request, exc, "the store could not serve")
    return error_response(
        503,
        f"the store is unavailable or busy (request id {ident}); nothing was changed, retry later",
        headers={REQUEST_ID_HEADER: ident, "Retry-After": str(STORE_RETRY_AFTER)},
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    ident = _logged(request, exc, "unexpected error handling")
    # ``Connection: close``: the server closes the connection after an unhandled exception,
    # and a keep-alive client must know before it sends its next request on it
    return error_response(
        500,
        f"internal server error (request id {ident}); the server log has the details",
        headers={REQUEST_ID_HEADER: ident, "Connection": "close"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """The handlers are ``async`` (they do no I/O besides a log line): Starlette would run a
    plain one in the thread pool, a hop for every error answer."""
    app.add_exception_handler(ScorecastError, _scorecast_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    for unavailable in (OperationalError, InterfaceError, PoolTimeoutError):
        app.add_exception_handler(unavailable, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected)


def _field_path(loc: Sequence[Any]) -> list[str]:
    """``("body", "intakeSettings", "url")`` → ``["intakeSettings", "url"]``."""
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return parts or ["body"]


def _problem(item: dict[str, Any]) -> str:
    if item.get("type") == "json_invalid":
        context = item.get("ctx") or {}
        return f"is not valid JSON ({context.get('error', 'syntax error')})"
    message = str(item.get("msg", "is invalid"))
    return message[:1].lower() + message[1:]


def _put(errors: dict[str, Any], path: list[str], problem: str) -> None:
    node = errors
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = problem
