"""The size limit of every request body, by the kind of route (``config.Limits``).

- multipart uploads (``…/fromFile/``, ``deployments/fromModelFile/``, the console's
  ``/deployments/upload``): ``upload_bytes``;
  Starlette spools their files to disk, so the limit bounds disk, not memory;
- localFile job input (``…/csvUpload/`` and its parts): ``localfile_bytes``; streamed to disk;
- every other body (JSON, parsed in memory): ``body_bytes``.

A declared ``Content-Length`` over the limit is refused at the first read, before any byte is
taken (a route that reads no body ignores it); a chunked body is counted as it arrives and
refused when it passes the limit (the part already received is discarded by its reader); the
HTTP server never delivers more than a declared ``Content-Length``. The answer is a 422 (never
413: the datarobot client retries 413, POST included) whose ``errors`` name the field and the
limit. The connection stays open: the HTTP server reads and drops the rest of the body (it
holds none of it), so the client reads the answer instead of a reset connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scorecast.config import Limits

_UPLOAD_PATH = re.compile(r"/(fromFile|fromModelFile)/$|^/deployments/upload$")
_LOCALFILE_PATH = re.compile(r"/csvUpload/(part/[^/]*/)?$")


@dataclass(frozen=True)
class BodyLimit:
    """One route kind's limit: ``bytes`` (0 = none), the ``setting`` that sets it and the
    request ``field`` an error names."""

    bytes: int
    setting: str
    field: str

    def problem(self) -> str:
        return f"is larger than the limit of {self.bytes} bytes ({self.setting})"


class BodyTooLarge(HTTPException):
    """A body over its limit; an ``HTTPException`` so that FastAPI's body parsing passes it on
    unchanged (it turns any other exception raised while reading into a vague 400)."""

    def __init__(self, limit: BodyLimit) -> None:
        self.limit = limit
        super().__init__(422, f"{limit.field}: {limit.problem()}")


def limit_for(limits: Limits, path: str) -> BodyLimit:
    """The limit of a request to ``path``."""
    if _LOCALFILE_PATH.search(path):
        return BodyLimit(limits.localfile_bytes, "SCORECAST_MAX_LOCALFILE_BYTES", "body")
    if _UPLOAD_PATH.search(path):
        return BodyLimit(limits.upload_bytes, "SCORECAST_MAX_UPLOAD_BYTES", "file")
    return BodyLimit(limits.body_bytes, "SCORECAST_MAX_BODY_BYTES", "body")


class BodyLimitMiddleware:
    """Refuses request bodies over their limit (see the module docstring)."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(self.limits, scope["path"])
        if not limit.bytes:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        received = int(declared) if declared.isdigit() else 0

        async def counted() -> Message:
            # the declared length is checked at the first read, before any byte is taken
            nonlocal received
            if received > limit.bytes:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request" and not declared.isdigit():
                received += len(message.get("body", b""))
                if received > limit.bytes:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
