"""The console's definition editing: the schedule editor with its live preview, and cloning.

- ``GET /definitions/{id}/schedule``: the editor, with the stored schedule's next fires;
- ``GET /schedules/preview?minute=…``: the preview of typed fields as JSON, which
  ``static/console.js`` asks for as the user types (read-only, so no CSRF token; the session
  cookie is ``SameSite=Strict``). A schedule being typed is often incomplete, which is the
  preview's answer rather than a failed request: it answers 200 with ``valid`` false, the
  ``message`` and ``errors`` keyed by form field;
- ``POST /definitions/{id}/schedule``: save (through ``service.definitions.update_definition``);
  a refused schedule shows the editor again with the problems next to their fields;
- ``POST /definitions/{id}/clone``: a disabled copy under a new name (spec, schedule and
  policies).

Like every console page, each one is scoped to the signed-in organization.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from scorecast.domain.definition_policies import policies_to_wire
from scorecast.domain.schedule import Schedule, describe
from scorecast.domain.schedule.preview import preview
from scorecast.errors import InvalidInput, ScorecastError
from scorecast.service import definitions
from scorecast.store.types import utcnow
from scorecast.web.console import (
    SECURITY_HEADERS,
    CsrfField,
    SignedIn,
    UserDep,
    _back,
    _checked_form,
    _page_or_not_found,
    _settings,
    _write,
)
from scorecast.web.schedule_form import (
    FIELDS,
    OPTIONAL,
    ScheduleForm,
    form_from_payload,
    payload_from_form,
)

router = APIRouter(include_in_schema=False)
#: how many fires the editor previews
PREVIEW_COUNT = 10
_Text = Annotated[str, Form()]


def schedule_preview(schedule: Schedule, now: datetime) -> dict[str, Any]:
    """What the editor shows of a schedule: its description, warnings and next fires."""
    text = describe(schedule, now)
    return {
        "description": text.text,
        "warnings": text.warnings,
        "timezone": schedule.timezone or "UTC",
        "fires": [
            {
                "utc": fire.utc.strftime("%Y-%m-%d %H:%M UTC"),
                "local": fire.local.strftime("%Y-%m-%d %H:%M %Z"),
                "dst": {
                    "gap": "moved: that time did not exist",
                    "overlap": "time occurs twice",
                }.get(fire.dst or "", ""),
            }
            for fire in preview(schedule, now, PREVIEW_COUNT)
        ],
    }


@router.get("/schedules/preview")
def preview_typed(request: Request, user: UserDep) -> Response:
    values = {name: request.query_params.get(name, "") for name in _names()}
    try:
        _, schedule = payload_from_form(values)
    except InvalidInput as exc:
        body = {"valid": False, "message": exc.message, "errors": exc.errors}
        return JSONResponse(body, headers=SECURITY_HEADERS)
    body = {"valid": True, **schedule_preview(schedule, utcnow())}
    return JSONResponse(body, headers=SECURITY_HEADERS)


@router.get("/definitions/{definition_id}/schedule")
def schedule_editor(request: Request, user: UserDep, definition_id: str) -> HTMLResponse:
    def work(session: Session) -> dict[str, Any]:
        definition = definitions.get_definition(session, user.caller, definition_id)
        return _editor(definition.id, definition.name, form_from_payload(definition.schedule))

    return _page_or_not_found(request, user, "schedule_edit.html", work)


@router.post("/definitions/{definition_id}/schedule")
def save_schedule(
    request: Request,
    definition_id: str,
    *,
    minute: _Text = "",
    hour: _Text = "",
    dayOfMonth: _Text = "",  # noqa: N803 - the wire name
    month: _Text = "",
    dayOfWeek: _Text = "",  # noqa: N803
    timezone: _Text = "",
    dstGapPolicy: _Text = "",  # noqa: N803
    dstOverlapPolicy: _Text = "",  # noqa: N803
    csrf: CsrfField = None,
) -> Response:
    user = _checked_form(request, csrf)
    values = {
        "minute": minute,
        "hour": hour,
        "dayOfMonth": dayOfMonth,
        "month": month,
        "dayOfWeek": dayOfWeek,
        "timezone": timezone,
        "dstGapPolicy": dstGapPolicy,
        "dstOverlapPolicy": dstOverlapPolicy,
    }
    target = f"/definitions/{quote(definition_id)}"
    try:
        payload, _ = payload_from_form(values)
    except InvalidInput as exc:
        return _refused(request, user, definition_id, ScheduleForm(values, exc.errors))

    def work(session: Session) -> None:
        definitions.update_definition(
            session,
            user.caller,
            definition_id,
            {"schedule": payload},
            app_settings=_settings(request),
        )

    try:
        _write(request, work)
    except ScorecastError as exc:
        return _back(request, user, target, error=exc.message)
    return _back(request, user, target, message="Schedule saved.")


@router.post("/definitions/{definition_id}/clone")
def clone(
    request: Request, definition_id: str, name: _Text = "", csrf: CsrfField = None
) -> Response:
    user = _checked_form(request, csrf)
    created: list[str] = []

    def work(session: Session) -> None:
        original = definitions.get_definition(session, user.caller, definition_id)
        body = {
            **original.job_spec,
            **policies_to_wire(definitions.definition_policies(original)),
            "name": name.strip() or None,
            "enabled": False,
            "schedule": original.schedule,
        }
        copy = definitions.create_definition(
            session, user.caller, body, app_settings=_settings(request)
        )
        created.append(copy.id)

    try:
        _write(request, work)
    except ScorecastError as exc:
        return _back(request, user, f"/definitions/{quote(definition_id)}", error=exc.message)
    return _back(request, user, f"/definitions/{created[0]}", message="Cloned (disabled).")


def _refused(
    request: Request, user: SignedIn, definition_id: str, form: ScheduleForm
) -> HTMLResponse:
    def work(session: Session) -> dict[str, Any]:
        definition = definitions.get_definition(session, user.caller, definition_id)
        return _editor(definition.id, definition.name, form)

    response = _page_or_not_found(request, user, "schedule_edit.html", work)
    if response.status_code == 200:
        response.status_code = 422
    return response


def _editor(definition_id: str, name: str, form: ScheduleForm) -> dict[str, Any]:
    preview_of: dict[str, Any] | None = None
    if not form.errors:
        try:
            _, schedule = payload_from_form(form.values)
            preview_of = schedule_preview(schedule, utcnow())
        except InvalidInput:
            preview_of = None
    return {
        "definition_id": definition_id,
        "name": name,
        "form": form,
        "fields": FIELDS,
        "preview": preview_of,
        "zones": _zones(),
    }


@cache
def _zones() -> list[str]:
    return sorted(available_timezones())


def _names() -> list[str]:
    return [name for name, _ in FIELDS] + list(OPTIONAL)
