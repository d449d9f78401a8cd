"""The web console's pages and actions, rendered on the server with Jinja2.

Every page needs a signed-in session (``scorecast.web.session``) and shows only the signed-in
user's organization, through the same service functions as the API; an unknown id and another
organization's id are both "not found". Actions are POSTed forms carrying the session's CSRF
token and answer with a redirect (post/redirect/get) whose message is signed for the session
(``web/flash.py``); a refused creation form is shown again instead. The only script is
``static/console.js`` (no inline script: the Content-Security-Policy forbids it); live progress
comes from ``/jobs/{id}/events``, a server-sent event stream.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.domain.job_statuses import STATUSES
from scorecast.errors import AuthenticationFailed, NotFound, ScorecastError
from scorecast.service import (
    console_sessions,
    credentials,
    data_stores,
    definitions,
    deployments,
    jobs,
)
from scorecast.service import overview as overview_queries
from scorecast.service.caller import Caller
from scorecast.service.firing import fire_history
from scorecast.service.job_views import job_views
from scorecast.store.db import session_scope
from scorecast.store.types import utcnow
from scorecast.web import backfill_views, calendar, flash, present
from scorecast.web.backfill_form import default_form
from scorecast.web.session import COOKIE_NAME, LOGIN_COOKIE, SESSION_SECONDS, ConsoleKeys

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters.update(
    when=present.when, duration=present.duration, rows=present.rows, eta=present.eta
)
PAGE_SIZE = 50
#: a job list counts its matches up to here (past it the page says "more than 1,000")
COUNT_LIMIT = 1_000
#: seconds between two progress events of a job's stream (at most one read a second)
EVENT_SECONDS = 1.0

#: The console's Content-Security-Policy: nothing from another host, no inline script or style.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """No valid session: the console answers with a redirect to ``/login``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class SignedIn:
    """The signed-in user of a console request: the caller, the cookie, its CSRF token and the
    id of its session in the store."""

    def __init__(self, caller: Caller, cookie: str, csrf: str, session_id: str) -> None:
        self.caller, self.cookie, self.csrf = caller, cookie, csrf
        self.session_id = session_id


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _keys(request: Request) -> ConsoleKeys:
    keys: ConsoleKeys | None = getattr(request.app.state, "console_keys", None)
    if keys is None:
        keys = ConsoleKeys(_settings(request))
        request.app.state.console_keys = keys
    return keys


def _signed_in(request: Request) -> SignedIn:
    keys = _keys(request)
    cookie = request.cookies.get(COOKIE_NAME)
    opened = keys.open(cookie)
    if opened is None or cookie is None:
        raise LoginRequired(_return_path(request))
    token, session_id = opened
    try:
        caller = console_sessions.signed_in(_engine(request), token, session_id)
    except AuthenticationFailed:
        raise LoginRequired(_return_path(request)) from None
    return SignedIn(caller, cookie, keys.csrf_token(cookie), session_id)


#: the first segment of a form's path whose page is the object's own (``/jobs/<id>``)
_OBJECT_PAGES = frozenset({"definitions", "jobs"})
#: the first segment of a form's path whose page is the list (``/credentials``)
_LIST_PAGES = frozenset({"credentials", "data-stores", "deployments"})


def _return_path(request: Request) -> str:
    """Where to go after signing in again: a page asked for, with its query (its filters); for
    a form sent when the session had ended, the page the form is on (its own path may be
    POST-only: following it after sign-in was a 405)."""
    path = request.url.path
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return path + ("?" + query if query else "")
    segments = path.strip("/").split("/")
    if segments[0] in _OBJECT_PAGES and len(segments) >= 2:
        return f"/{segments[0]}/{segments[1]}"
    if segments[0] in _LIST_PAGES:
        return f"/{segments[0]}"
    return "/"


def _checked_form(request: Request, csrf: str | None) -> SignedIn:
    """The signed-in user of a POSTed form whose CSRF token is right; 403 otherwise."""
    user = _signed_in(request)
    if not _keys(request).csrf_ok(user.cookie, csrf):
        raise _Forbidden()
    return user


class _Forbidden(Exception):
    pass


UserDep = Annotated[SignedIn, Depends(_signed_in)]
#: where a page of a list starts
PageOffset = Annotated[int, Query(ge=0, le=10**9)]
CsrfField = Annotated[str | None, Form(alias="csrf")]


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    user: SignedIn | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page with the console's security headers; ``user`` gives the layout its name, the
    forms their CSRF token and the page the notices its link carries for them
    (``web/flash.py``; a context's own ``notices`` replace those)."""
    shown = flash.notices(_keys(request), user.csrf, request.query_params) if user else []
    values = {
        "user": user,
        "csrf": user.csrf if user else "",
        "now": utcnow(),
        "notices": shown,
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _read(request: Request, work: Callable[[Session], dict[str, Any]]) -> dict[str, Any]:
    with session_scope(_engine(request), deferred=True) as session:
        return work(session)


def _write(request: Request, work: Callable[[Session], object]) -> None:
    with session_scope(_engine(request)) as session:
        work(session)


def _back(
    request: Request,
    user: SignedIn,
    path: str,
    *,
    message: str | None = None,
    error: str | None = None,
) -> RedirectResponse:
    """A redirect to ``path`` (a local path, which may have a query) whose page shows
    ``message`` and ``error`` to ``user`` alone (``web/flash.py``)."""
    keys = _keys(request)
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in flash.KINDS]
    for kind, text in (("message", message), ("error", error)):
        if text:
            query.append((kind, flash.sealed(keys, user.csrf, kind, text)))
    target = urlunsplit(("", "", parts.path, urlencode(query), ""))
    response = RedirectResponse(target, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(
        Path(__file__).parent / "static" / "favicon.svg", media_type="image/svg+xml"
    )


# --- signing in and out ---------------------------------------------------------------------


#: what a sign-in cookie made by ``_login_form`` looks like (``secrets.token_urlsafe(24)``)
_NONCE = re.compile(r"[A-Za-z0-9_-]{32}")


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _login_form(request, _local(next), None)


def _login_form(request: Request, next_path: str, error: str | None, status: int = 200) -> Response:
    """The sign-in page with a form token and its cookie (``web/session.py``): the browser's
    cookie when it has one (a sign-in form in another tab stays valid), else a new one."""
    sent = request.cookies.get(LOGIN_COOKIE, "")
    nonce = sent if _NONCE.fullmatch(sent) else secrets.token_urlsafe(24)
    context = {"next": next_path, "error": error, "login_csrf": _keys(request).login_csrf(nonce)}
    response = render(request, "login.html", context, status_code=status)
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf: CsrfField = None,
) -> Response:
    next_path = _local(next)
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not _keys(request).csrf_ok("login:" + nonce, csrf):
        error = "This sign-in form has expired or was sent from another site. Sign in here."
        return _login_form(request, next_path, error, status=403)
    lasts = timedelta(seconds=SESSION_SECONDS)
    try:
        _, session_id = console_sessions.sign_in(_engine(request), token.strip(), lasts)
    except AuthenticationFailed:
        error = "That token is not valid. Check it and try again."
        return _login_form(request, next_path, error, status=401)
    response = RedirectResponse(next_path, status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    response.set_cookie(
        COOKIE_NAME,
        _keys(request).seal(token.strip(), session_id),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@router.post("/logout")
def logout(request: Request, csrf: CsrfField = None) -> Response:
    """Ends the session in the store (a copy of the cookie is refused from now on), then in
    the browser."""
    user = _checked_form(request, csrf)
    console_sessions.sign_out(_engine(request), user.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    response.headers.update(SECURITY_HEADERS)
    return response


def _local(path: str) -> str:
    """Only a path of this site may follow a sign-in (no open redirect)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


# --- pages ----------------------------------------------------------------------------------


@router.get("/")
def overview(request: Request, user: UserDep) -> HTMLResponse:
    now = utcnow()
    day = timedelta(hours=24)

    def work(session: Session) -> dict[str, Any]:
        caller = user.caller
        running = overview_queries.jobs_in_status(session, caller, ["RUNNING"])
        waiting = overview_queries.jobs_in_status(session, caller, ["INITIALIZING"])
        upcoming = overview_queries.upcoming_fires(session, caller, now, day)
        return {
            "running": job_views(
                session, running.jobs, with_logs=False, with_positions=False, caller=caller
            ),
            "running_total": running.total,
            "waiting": job_views(session, waiting.jobs, with_logs=False, caller=caller),
            "waiting_total": waiting.total,
            "failures": overview_queries.failed_jobs_since(session, caller, now - day),
            "fires": overview_queries.fires_needing_attention(session, caller, now - day),
            "upcoming": upcoming,
            "timeline": present.timeline(upcoming, now, day),
        }

    return render(request, "overview.html", _read(request, work), user=user)


@router.get("/definitions")
def definitions_page(
    request: Request,
    user: UserDep,
    q: str = "",
    offset: PageOffset = 0,
) -> HTMLResponse:
    def work(session: Session) -> dict[str, Any]:
        page, total = definitions.list_definitions(
            session,
            user.caller,
            search_name=q or None,
            deployment_id=None,
            offset=offset,
            limit=PAGE_SIZE,
        )
        labels = overview_queries.deployment_labels(
            session, user.caller, {d.deployment_id for d in page}
        )
        paging = present.Pager(offset, PAGE_SIZE, total, {"q": q})
        return {
            "labels": labels,
            "definitions": [present.definition_row(d) for d in page],
            "q": q,
            "back": paging.here("/definitions"),  # Enable and Disable come back to this page
            "paging": paging,
        }

    return render(request, "definitions.html", _read(request, work), user=user)


@router.get("/definitions/{definition_id}")
def definition_page(
    request: Request, user: UserDep, definition_id: str, month: str = ""
) -> HTMLResponse:
    now = utcnow()

    def work(session: Session) -> dict[str, Any]:
        definition = definitions.get_definition(session, user.caller, definition_id)
        recent = overview_queries.definition_jobs(session, user.caller, definition.id)
        schedule = present.readable_schedule(definition.schedule)
        first = calendar.parse_month(month, now.date())
        start, end = calendar.month_bounds(first, schedule.zone if schedule else None)
        past = overview_queries.fire_outcomes_between(
            session, definition, start, end, limit=calendar.MAX_PAST
        )
        labels = overview_queries.deployment_labels(
            session, user.caller, {definition.deployment_id}
        )
        zone = backfill_views.zone_of(definition)
        backfills, backfill_total = backfill_views.recent_backfills(
            session, user.caller, definition, limit=backfill_views.RECENT
        )
        return {
            "labels": labels,
            "backfills": backfills,
            "backfill_total": backfill_total,
            "backfill": default_form(zone, now),
            "zone_name": zone.key,
            "definition": present.definition_row(definition),
            "spec": present.spec_rows(session, user.caller, definition.job_spec),
            "fires": fire_history(session, definition.id, limit=100),
            "next_fires": present.next_fires(definition.schedule, now, 10),
            "jobs": recent,
            "chart": present.job_chart(recent),
            "month": calendar.month_calendar(
                first,
                schedule,
                past,
                now,
                upcoming=definition.enabled,
                past_cut=len(past) == calendar.MAX_PAST,
            ),
        }

    return _page_or_not_found(request, user, "definition.html", work)


@router.get("/jobs")
def jobs_page(
    request: Request,
    user: UserDep,
    *,
    status: str = "",
    definition: str = "",
    source: str = "",
    created: str = "",
    offset: PageOffset = 0,
) -> HTMLResponse:
    def work(session: Session) -> dict[str, Any]:
        start, end = present.day_range("created", created)
        filters = jobs.JobFilters(
            statuses=[status] if status else [],
            definition_id=definition or None,
            sources=[source] if source else [],
            created_after=start,
            created_before=end,
            exact_statuses=True,  # the rows show the stored status (docs: console.md)
        )
        counted = max(COUNT_LIMIT, offset + PAGE_SIZE) + 1
        page, total = jobs.list_jobs(
            session, user.caller, filters, offset=offset, limit=PAGE_SIZE, count_limit=counted
        )
        return {
            "jobs": job_views(
                session, page, with_logs=False, with_positions=False, caller=user.caller
            ),
            "filters": {
                "status": status,
                "definition": definition,
                "source": source,
                "created": created,
            },
            "statuses": STATUSES,
            "sources": jobs.SOURCES,
            "paging": present.Pager(
                offset,
                PAGE_SIZE,
                total,
                {"status": status, "definition": definition, "source": source, "created": created},
                capped=total == counted,
            ),
        }

    try:
        return render(request, "jobs.html", _read(request, work), user=user)
    except ScorecastError as exc:
        return _error_page(request, user, exc, 422)


@router.get("/jobs/{job_id}")
def job_page(request: Request, user: UserDep, job_id: str) -> HTMLResponse:
    def work(session: Session) -> dict[str, Any]:
        job = jobs.get_job(session, user.caller, job_id)
        view = job_views(session, [job], caller=user.caller)[0]
        return {
            "view": view,
            "job": job,
            "spec": present.spec_rows(session, user.caller, job.spec),
            "downloadable": present.downloadable(job),
        }

    return _page_or_not_found(request, user, "job.html", work)


@router.get("/deployments")
def deployments_page(
    request: Request,
    user: UserDep,
    q: str = "",
    offset: PageOffset = 0,
) -> HTMLResponse:
    return deployments_listing(request, user, q=q, offset=offset)


def deployments_listing(
    request: Request,
    user: SignedIn,
    *,
    q: str = "",
    offset: int = 0,
    refused: Refused | None = None,
) -> HTMLResponse:
    """The deployments page; with ``refused``, its upload form as typed and why (422)."""

    def work(session: Session) -> dict[str, Any]:
        page, total = deployments.list_deployments(
            session, user.caller, offset=offset, limit=PAGE_SIZE, search=q or None
        )
        return {
            "upload_limit": present.byte_size(_settings(request).limits.upload_bytes),
            "deployments": list(page),
            "q": q,
            "paging": present.Pager(offset, PAGE_SIZE, total, {"q": q}),
        }

    return _with_refused(request, user, "deployments.html", _read(request, work), refused)


@router.get("/deployments/{deployment_id}")
def deployment_page(request: Request, user: UserDep, deployment_id: str) -> HTMLResponse:
    def work(session: Session) -> dict[str, Any]:
        deployment = deployments.get_deployment(session, user.caller, deployment_id)
        return {"deployment": deployment, "model": deployment.model}

    return _page_or_not_found(request, user, "deployment.html", work)


@router.get("/credentials")
def credentials_page(request: Request, user: UserDep, offset: PageOffset = 0) -> HTMLResponse:
    return credentials_listing(request, user, offset=offset)


def credentials_listing(
    request: Request, user: SignedIn, *, offset: int = 0, refused: Refused | None = None
) -> HTMLResponse:
    return _listing(
        request,
        user,
        "credentials.html",
        key="credentials",
        offset=offset,
        lister=credentials.list_credentials,
        refused=refused,
    )


@router.get("/data-stores")
def data_stores_page(request: Request, user: UserDep, offset: PageOffset = 0) -> HTMLResponse:
    return data_stores_listing(request, user, offset=offset)


def data_stores_listing(
    request: Request, user: SignedIn, *, offset: int = 0, refused: Refused | None = None
) -> HTMLResponse:
    return _listing(
        request,
        user,
        "data_stores.html",
        key="stores",
        offset=offset,
        lister=data_stores.list_data_stores,
        refused=refused,
    )


def _listing(
    request: Request,
    user: SignedIn,
    template: str,
    *,
    key: str,
    offset: int,
    lister: Callable[..., tuple[Sequence[Any], int]],
    refused: Refused | None = None,
) -> HTMLResponse:
    """A page of one kind of object: ``lister(session, caller, offset=, limit=)``; with
    ``refused``, its creation form as typed and why (422)."""

    def work(session: Session) -> dict[str, Any]:
        page, total = lister(session, user.caller, offset=offset, limit=PAGE_SIZE)
        return {key: list(page), "paging": present.Pager(offset, PAGE_SIZE, total, {})}

    return _with_refused(request, user, template, _read(request, work), refused)


@dataclass(frozen=True)
class Refused:
    """A creation form the service refused: what was typed, secrets left out, and why."""

    form: Mapping[str, str]
    error: str


def _with_refused(
    request: Request,
    user: SignedIn,
    template: str,
    context: dict[str, Any],
    refused: Refused | None,
) -> HTMLResponse:
    if refused is None:
        return render(request, template, {"form": {}, **context}, user=user)
    context |= {"form": refused.form, "notices": [flash.Notice(refused.error, error=True)]}
    return render(request, template, context, user=user, status_code=422)


def _page_or_not_found(
    request: Request,
    user: SignedIn,
    template: str,
    work: Callable[[Session], dict[str, Any]],
) -> HTMLResponse:
    try:
        context = _read(request, work)
    except NotFound as exc:
        return _error_page(request, user, exc, 404)
    return render(request, template, context, user=user)


def _error_page(
    request: Request, user: SignedIn | None, exc: ScorecastError, status_code: int
) -> HTMLResponse:
    return render(
        request, "error.html", {"message": exc.message}, user=user, status_code=status_code
    )


# --- actions --------------------------------------------------------------------------------


@router.post("/definitions/{definition_id}/run")
def run_now(request: Request, definition_id: str, csrf: CsrfField = None) -> Response:
    user = _checked_form(request, csrf)
    created: list[str] = []

    def work(session: Session) -> None:
        job = jobs.job_from_definition(
            session, user.caller, definition_id, app_settings=_settings(request)
        )
        created.append(job.id)

    try:
        _write(request, work)
    except ScorecastError as exc:
        return _back(request, user, f"/definitions/{quote(definition_id)}", error=exc.message)
    return _back(request, user, f"/jobs/{created[0]}", message="Job started.")


@router.post("/definitions/{definition_id}/enabled")
def set_enabled(
    request: Request,
    definition_id: str,
    enabled: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
    csrf: CsrfField = None,
) -> Response:
    user = _checked_form(request, csrf)
    wanted = enabled == "true"

    def work(session: Session) -> None:
        definitions.update_definition(
            session,
            user.caller,
            definition_id,
            {"enabled": wanted},
            app_settings=_settings(request),
        )

    target = _local(back) if back else f"/definitions/{quote(definition_id)}"
    try:
        _write(request, work)
    except ScorecastError as exc:
        return _back(request, user, target, error=exc.message)
    return _back(request, user, target, message="Enabled." if wanted else "Disabled.")


@router.post("/definitions/{definition_id}/delete")
def delete_definition(
    request: Request,
    definition_id: str,
    confirm: Annotated[str, Form()] = "",
    csrf: CsrfField = None,
) -> Response:
    user = _checked_form(request, csrf)
    if confirm != "yes":
        return _back(
            request, user, f"/definitions/{quote(definition_id)}", error="Tick the box to confirm."
        )
    try:
        _write(request, lambda s: definitions.delete_definition(s, user.caller, definition_id))
    except ScorecastError as exc:
        return _back(request, user, f"/definitions/{quote(definition_id)}", error=exc.message)
    return _back(request, user, "/definitions", message="Definition deleted.")


@router.post("/jobs/{job_id}/abort")
def abort(request: Request, job_id: str, csrf: CsrfField = None) -> Response:
    user = _checked_form(request, csrf)

    def work(session: Session) -> None:
        jobs.abort_job(session, user.caller, job_id)

    try:
        _write(request, work)
    except ScorecastError as exc:
        return _back(request, user, f"/jobs/{quote(job_id)}", error=exc.message)
    return _back(request, user, f"/jobs/{quote(job_id)}", message="Abort requested.")


@router.get("/jobs/{job_id}/result")
def download_result(request: Request, user: UserDep, job_id: str) -> Response:
    """The result file of a COMPLETED job with a localFile output."""

    def work(session: Session) -> dict[str, Any]:
        return {"job": jobs.get_job(session, user.caller, job_id)}

    try:
        job = _read(request, work)["job"]
    except NotFound as exc:
        return _error_page(request, user, exc, 404)
    chunks = (
        localfile_files.result_chunks(_settings(request), job.id)
        if present.downloadable(job)
        else None
    )
    if chunks is None:
        message = f"Job {job.id} has no result to download ({job.status})."
        return render(request, "error.html", {"message": message}, user=user, status_code=404)
    response = StreamingResponse(
        chunks,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="result-{job.id}.csv"'},
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/jobs/{job_id}/events")
async def job_events(request: Request, user: UserDep, job_id: str) -> Response:
    """Server-sent events: the job's progress as JSON about once a second until it ends, or
    until the session does (signed out, expired, its token revoked): checked with every
    snapshot, as every page request checks it."""
    engine = _engine(request)
    opened = _keys(request).open(user.cookie)

    def snapshot() -> dict[str, Any]:
        if opened is None:  # cannot be: the cookie opened to make ``user``
            raise NotFound("this console session has ended")
        try:
            console_sessions.signed_in(engine, *opened)
        except AuthenticationFailed:
            raise NotFound("this console session has ended") from None
        with session_scope(engine, deferred=True) as session:
            job = jobs.get_job(session, user.caller, job_id)
            return present.progress(job)

    try:
        first = await run_in_threadpool(snapshot)
    except NotFound as exc:
        return _error_page(request, user, exc, 404)

    async def stream() -> AsyncIterator[str]:
        state = first
        last: str | None = None
        while True:
            data = json.dumps(state)
            if data != last:
                yield f"data: {data}\n\n"
                last = data
            if state["finished"] or await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_SECONDS)
            try:
                state = await run_in_threadpool(snapshot)
            except NotFound:
                return

    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
