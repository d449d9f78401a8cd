"""Requests whose URL the routes would misread are refused with a 422 naming the query
parameter (or ``path``), before any route runs, on every store alike:

- a NUL character (``%00``) in the path or the query. PostgreSQL's text cannot hold U+0000: a
  NUL in a search or an id reached the database, which refused it, and the answer could name
  only ``body``. SQLite's string functions stop at it: a name search for ``t1%00x`` found
  ``t1``. (JSON bodies are checked in ``api/json_values.py``.)
- an encoded slash (``%2F``) in the path. Routes match the decoded path, so an "id" holding
  one was read as more path: ``deployments/<id>%2Fsettings/`` answered as
  ``deployments/<id>/settings/``. No id, name or other path segment of the API holds a slash.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from scorecast.api.errors import error_response

NUL = "must not contain a NUL character (%00)"
ENCODED_SLASH = "must not contain an encoded slash (%2F): no id or name in a path holds one"


class UrlGuardMiddleware:
    """Refuses a request whose path or query the routes would misread (see the module
    docstring). What every request pays: four substring tests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = _refused_part(
                scope["path"], scope.get("raw_path") or b"", scope.get("query_string", b"")
            )
            if refused is not None:
                field, problem = refused
                response = error_response(422, f"{field}: {problem}", {field: problem})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refused_part(path: str, raw_path: bytes, query: bytes) -> tuple[str, str] | None:
    """The field (``path``, or the first query parameter whose name or value holds a NUL) and
    its problem, else None."""
    if "\x00" in path:
        return "path", NUL
    if b"%2F" in raw_path or b"%2f" in raw_path:
        return "path", ENCODED_SLASH
    if b"%00" not in query:  # the usual case: no decoding
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query", NUL
    return None
