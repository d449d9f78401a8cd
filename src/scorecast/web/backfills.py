"""The console's backfills of a definition's schedule (``service.backfills``, as the API's).

- ``POST /definitions/{id}/backfills``: the backfill form of the definition page (start and end
  in the definition's zone, ``maxConcurrent``, ``rerun``). With ``action=preview`` it shows the
  form again with how many fire times the range holds and how many would run (what
  ``service.backfills.preview_backfill`` plans: the checks and the plan of a real backfill);
  otherwise it creates the backfill and redirects to its progress. A refused form is shown
  again (422) with the problems next to their fields, and nothing is created;
- ``GET /definitions/{id}/backfills/preview?start=…``: that preview as JSON for
  ``static/console.js``, as the user types (read-only: no CSRF token; the session cookie is
  ``SameSite=Strict``); a range being typed is often incomplete, which is the preview's answer
  rather than a failed request: 200 with ``valid`` false and the ``errors`` by field;
- ``GET /definitions/{id}/backfills``: every backfill of the definition, newest first, paged;
- ``GET /definitions/{id}/backfills/{backfill}``: its progress and its fire times with their
  jobs; ``…/progress`` the figures as JSON, polled by the page while it runs;
- ``POST /definitions/{id}/backfills/{backfill}/cancel``: cancel the rest.

Another organization's definition or backfill is not found (404), as in the API.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from scorecast.errors import InvalidInput, NotFound, ScorecastError
from scorecast.service import backfills, definitions
from scorecast.store.types import utcnow
from scorecast.web import present
from scorecast.web.backfill_form import FIELDS, BackfillForm, field_errors, request_from_form
from scorecast.web.backfill_views import (
    backfill_rows,
    local_time,
    recent_backfills,
    zone_of,
)
from scorecast.web.console import (
    PAGE_SIZE,
    SECURITY_HEADERS,
    CsrfField,
    PageOffset,
    SignedIn,
    UserDep,
    _back,
    _checked_form,
    _error_page,
    _page_or_not_found,
    _read,
    _settings,
    _write,
)

router = APIRouter(include_in_schema=False)
_Text = Annotated[str, Form()]
_BASE = "/definitions/{definition_id}/backfills"


@router.get(_BASE + "/preview")
def preview_typed(request: Request, user: UserDep, definition_id: str) -> Response:
    values = {name: request.query_params.get(name, "") for name in FIELDS}

    def work(session: Session) -> dict[str, Any]:
        return _preview(request, user, session, definition_id, values)

    try:
        body = {"valid": True, **_read(request, work)}
    except NotFound as exc:
        return JSONResponse({"message": exc.message}, status_code=404, headers=SECURITY_HEADERS)
    except InvalidInput as exc:
        errors = field_errors(exc)
        body = {"valid": False, "message": _message(errors), "errors": errors}
    return JSONResponse(body, headers=SECURITY_HEADERS)


@router.post(_BASE)
def create(
    request: Request,
    definition_id: str,
    *,
    start: _Text = "",
    end: _Text = "",
    maxConcurrent: _Text = "",  # noqa: N803 - the wire name
    rerun: _Text = "",
    action: _Text = "",
    csrf: CsrfField = None,
) -> Response:
    user = _checked_form(request, csrf)
    values = {"start": start, "end": end, "maxConcurrent": maxConcurrent, "rerun": rerun}
    if action == "preview":
        return _form_page(request, user, definition_id, values)
    created: list[str] = []

    def work(session: Session) -> None:
        definition = definitions.get_definition(session, user.caller, definition_id)
        wanted = request_from_form(values, zone_of(definition))
        backfill = backfills.create_backfill(
            session, user.caller, definition.id, wanted, utcnow(), app_settings=_settings(request)
        )
        created.append(backfill.id)

    try:
        _write(request, work)
    except NotFound as exc:
        return _error_page(request, user, exc, 404)
    except InvalidInput as exc:
        return _form_page(request, user, definition_id, values, errors=field_errors(exc))
    except ScorecastError as exc:
        return _back(request, user, f"/definitions/{quote(definition_id)}", error=exc.message)
    path = f"/definitions/{quote(definition_id)}/backfills/{created[0]}"
    return _back(request, user, path, message="Backfill started.")


@router.get(_BASE)
def backfills_page(
    request: Request, user: UserDep, definition_id: str, offset: PageOffset = 0
) -> HTMLResponse:
    def work(session: Session) -> dict[str, Any]:
        definition = definitions.get_definition(session, user.caller, definition_id)
        page, total = recent_backfills(
            session, user.caller, definition, offset=offset, limit=PAGE_SIZE
        )
        return {
            "definition": definition,
            "backfills": page,
            "paging": present.Pager(offset, PAGE_SIZE, total, {}),
        }

    return _page_or_not_found(request, user, "backfills.html", work)


@router.get(_BASE + "/{backfill_id}")
def backfill_page(
    request: Request, user: UserDep, definition_id: str, backfill_id: str, offset: PageOffset = 0
) -> HTMLResponse:
    def work(session: Session) -> dict[str, Any]:
        definition = definitions.get_definition(session, user.caller, definition_id)
        backfill = backfills.get_backfill(session, user.caller, definition.id, backfill_id)
        zone = zone_of(definition)
        times, total = backfills.backfill_times(
            session, user.caller, definition.id, backfill.id, offset=offset, limit=PAGE_SIZE
        )
        return {
            "definition": definition,
            "row": backfill_rows(session, [backfill], zone)[0],
            "times": [(local_time(t.scheduled_time, zone), t) for t in times],
            "paging": present.Pager(offset, PAGE_SIZE, total, {}),
        }

    return _page_or_not_found(request, user, "backfill.html", work)


@router.get(_BASE + "/{backfill_id}/progress")
def backfill_progress(
    request: Request, user: UserDep, definition_id: str, backfill_id: str
) -> Response:
    def work(session: Session) -> dict[str, Any]:
        definition = definitions.get_definition(session, user.caller, definition_id)
        backfill = backfills.get_backfill(session, user.caller, definition.id, backfill_id)
        return backfill_rows(session, [backfill], zone_of(definition))[0].live()

    try:
        body = _read(request, work)
    except NotFound as exc:
        return JSONResponse({"message": exc.message}, status_code=404, headers=SECURITY_HEADERS)
    return JSONResponse(body, headers=SECURITY_HEADERS)


@router.post(_BASE + "/{backfill_id}/cancel")
def cancel(
    request: Request, definition_id: str, backfill_id: str, csrf: CsrfField = None
) -> Response:
    user = _checked_form(request, csrf)

    def work(session: Session) -> None:
        backfills.cancel_backfill(session, user.caller, definition_id, backfill_id, utcnow())

    path = f"/definitions/{quote(definition_id)}/backfills/{quote(backfill_id)}"
    try:
        _write(request, work)
    except NotFound as exc:
        return _error_page(request, user, exc, 404)
    except ScorecastError as exc:
        return _back(request, user, path, error=exc.message)
    return _back(request, user, path, message="Backfill cancelled.")


def _preview(
    request: Request,
    user: SignedIn,
    session: Session,
    definition_id: str,
    values: dict[str, str],
) -> dict[str, Any]:
    """The preview of typed ``values`` (``InvalidInput`` by field when they are refused)."""
    definition = definitions.get_definition(session, user.caller, definition_id)
    zone = zone_of(definition)
    found = backfills.preview_backfill(
        session,
        user.caller,
        definition.id,
        request_from_form(values, zone),
        utcnow(),
        app_settings=_settings(request),
    )
    return {
        "total": found.total,
        "planned": found.planned,
        "skipped": found.skipped,
        "first": local_time(found.first, zone),
        "last": local_time(found.last, zone),
        "text": preview_text(found.total, found.planned, found.skipped),
    }


def preview_text(total: int, planned: int, skipped: int) -> str:
    """``6 fire times in the range: 6 will run.`` (and how many are left alone)."""
    times = f"{total:,} fire time{'s' if total != 1 else ''} in the range"
    text = f"{times}: {planned:,} will run"
    if skipped:
        text += f", {skipped:,} left alone (already fired, or the scheduler's)"
    return text + "."


def _form_page(
    request: Request,
    user: SignedIn,
    definition_id: str,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    """The form again: with the problems of a refused one (422), or else with its preview
    (422 too when the preview finds problems)."""
    found = dict(errors or {})

    def work(session: Session) -> dict[str, Any]:
        definition = definitions.get_definition(session, user.caller, definition_id)
        preview = None
        if not found:
            try:
                preview = _preview(request, user, session, definition.id, values)
            except InvalidInput as exc:
                found.update(field_errors(exc))
        return {
            "definition": definition,
            "zone_name": zone_of(definition).key,
            "form": BackfillForm(values, found),
            "preview": preview,
        }

    response = _page_or_not_found(request, user, "backfill_form.html", work)
    if response.status_code == 200 and found:
        response.status_code = 422
    return response


def _message(errors: dict[str, str]) -> str:
    return "; ".join(f"{field}: {problem}" for field, problem in errors.items())
