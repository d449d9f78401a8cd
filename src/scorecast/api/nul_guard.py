"""Requests whose path or query holds a NUL character (``%00``) are refused with a 422 naming
the query parameter (or ``path``), before any route runs, on every store alike.

PostgreSQL's text cannot hold U+0000: a NUL in a search or an id reached the database, which
refused it, and the answer could name only ``body``. SQLite's string functions stop at it: a
name search for ``t1%00x`` found ``t1``. (JSON bodies are checked in ``api/json_values.py``.)
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from scorecast.api.errors import error_response

PROBLEM = "must not contain a NUL character (%00)"


class NulGuardMiddleware:
    """Refuses a request whose path or query holds a NUL (see the module docstring). What
    every request pays: two substring tests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            field = _field_with_nul(scope["path"], scope.get("query_string", b""))
            if field is not None:
                response = error_response(422, f"{field}: {PROBLEM}", {field: PROBLEM})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _field_with_nul(path: str, query: bytes) -> str | None:
    """``path``, or the first query parameter whose name or value holds a NUL, else None."""
    if "\x00" in path:
        return "path"
    if b"%00" not in query:  # the usual case: no decoding
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None
