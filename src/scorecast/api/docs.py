"""``/docs``: the interactive API documentation (Swagger UI), served entirely by this server.

Swagger UI's JavaScript, CSS and icons come from the ``swagger-ui-bundle-v2`` package (the
files of the official ``swagger-ui-dist`` release, maintained by the Connexion project) and are
served under ``/docs/assets/``, so the page works without internet access. Its
Content-Security-Policy allows nothing but this origin (plus the page's own inline start-up
script, by hash, and ``data:`` images that Swagger UI's CSS embeds): a browser refuses any
request to another host, even if a later Swagger UI release tried one. ReDoc is not served.

Like the OpenAPI document, the page and its assets need no token: they describe the API and
hold no data. The document declares the API token (``Authorization: Token <token>``) as its
security scheme, so the page's **Authorize** button lets "Try it out" send it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
#: How the API authenticates (``scorecast.api.auth``), for Swagger UI's Authorize button.
TOKEN_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "Authorization",
    "description": "Your API token as 'Token <token>' (or 'Bearer <token>').",
}


def swagger_ui_folder() -> Path:
    """The folder of Swagger UI's distribution files (``swagger-ui-bundle.js`` and friends)."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def install_docs(app: FastAPI, *, title: str) -> None:
    """Serve Swagger UI at ``/docs`` for ``app.openapi_url``, with its assets from this server.

    Call it on an app created with ``docs_url=None`` and ``redoc_url=None``.
    """
    app.openapi = _with_token_scheme(app.openapi)  # type: ignore[method-assign]
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_folder()), name="swagger-ui-assets")
    openapi_url = app.openapi_url
    assert openapi_url is not None, "the API docs need the OpenAPI document"

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{title} - API documentation",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            # the token typed into Authorize is not kept in the browser's storage
            swagger_ui_parameters={"persistAuthorization": False},
        )
        page.headers["Content-Security-Policy"] = _content_security_policy(bytes(page.body))
        return page


def _with_token_scheme(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` that also declares the API token as the document's security scheme."""

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI builds it once and caches it
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {}).setdefault("apiToken", TOKEN_SCHEME)
        schema.setdefault("security", [{"apiToken": []}])
        return schema

    return openapi


def _content_security_policy(html: bytes) -> str:
    """Only this origin; the page's inline scripts are allowed by their SHA-256 hashes."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html.decode())
    )
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {hashes}".rstrip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'self'",
            "base-uri 'self'",
            "form-action 'self'",
        )
    )
