"""The web console served by ``scorecast serve`` at ``/`` (see ``scorecast.web.console``).

``install_console(app)`` adds the pages, their static assets (``/console/static/``, shipped in
the package: nothing is loaded from another host) and the answers to a missing session
(a redirect to ``/login``) and to a form without its CSRF token (403).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from scorecast.web.backfills import router as backfills_router
from scorecast.web.console import (
    SECURITY_HEADERS,
    LoginRequired,
    _Forbidden,
    render,
    router,
)
from scorecast.web.editing import router as editing_router
from scorecast.web.objects import router as objects_router

STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(editing_router)
    app.include_router(backfills_router)
    app.include_router(objects_router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        response = RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(_Forbidden)
    async def _forbidden(request: Request, exc: _Forbidden) -> HTMLResponse:
        message = "This form has expired or did not come from this console; reload the page."
        return render(request, "error.html", {"message": message}, status_code=403)
