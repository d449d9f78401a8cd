"""Schedules and fires, ours beyond DataRobot: preview a schedule, a definition's next fires and
its fire history.

- ``POST schedules/preview/`` with ``{"schedule": …, "after": ISO (default now), "count": N}``;
- ``GET batchPredictionJobDefinitions/{id}/schedulePreview/?count=N`` for a stored definition;
- ``GET batchPredictionJobDefinitions/{id}/fires/``: one entry per scheduled time, newest first,
  in DataRobot's list envelope, filters ``outcome`` (repeatable), ``start`` and ``end``.

A preview answers the plain-English description and the warnings ``scorecast schedule
describe`` prints, and each fire in UTC and in the schedule's zone with its DST mark.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep
from scorecast.api.pagination import DEFAULT_LIMIT, page_envelope
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import JsonObject, Limit, Offset, format_datetime
from scorecast.domain.schedule import Schedule, describe, parse_schedule
from scorecast.domain.schedule.preview import preview
from scorecast.errors import InvalidInput
from scorecast.service import definitions, fires
from scorecast.store.types import utcnow

router = APIRouter(tags=["Schedules and fires"], route_class=TransactionRoute)

MAX_PREVIEW = 1000
_DEFINITION = "/batchPredictionJobDefinitions/{definition_id}/"
PreviewCount = Annotated[int, Query(ge=1, le=MAX_PREVIEW)]


@router.post("/schedules/preview/", name="preview_schedule")
def preview_schedule(body: JsonObject, caller: CallerDep) -> dict[str, Any]:
    """The next ``count`` (default 10, at most 1000) fires of ``schedule`` after ``after``."""
    unknown = sorted(set(body) - {"schedule", "after", "count"})
    if unknown:
        raise InvalidInput.at(unknown[0], "is not a field of a schedule preview")
    if "schedule" not in body:
        raise InvalidInput.at("schedule", "is required")
    schedule = parse_schedule(body["schedule"])
    after = _after(body.get("after"))
    count = body.get("count", 10)
    if type(count) is not int or not 1 <= count <= MAX_PREVIEW:
        raise InvalidInput.at("count", f"must be an integer from 1 to {MAX_PREVIEW}")
    return _preview(schedule, after, count)


@router.get(_DEFINITION + "schedulePreview/", name="preview_definition_schedule")
def preview_definition(
    definition_id: str, session: SessionDep, caller: CallerDep, count: PreviewCount = 10
) -> dict[str, Any]:
    """The next ``count`` fires of a stored definition's schedule (none without a schedule)."""
    definition = definitions.get_definition(session, caller, definition_id)
    if definition.schedule is None:
        return {"description": "No schedule", "warnings": [], "timezone": None, "fires": []}
    return _preview(parse_schedule(definition.schedule), utcnow(), count)


@router.get(_DEFINITION + "fires/", name="list_definition_fires")
def list_fires(
    *,
    definition_id: str,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    outcome: Annotated[list[str] | None, Query()] = None,
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """The definition's fires, newest first (see the module docstring)."""
    limit = limit or DEFAULT_LIMIT
    definition = definitions.get_definition(session, caller, definition_id)
    filters = fires.FireFilters(
        outcomes=tuple(outcome or ()),
        start=_moment("start", start),
        end=_moment("end", end),
    )
    page, total = fires.list_fires(session, definition, filters, offset=offset, limit=limit)
    jobs_of = fires.job_ids_by_fire(session, definition, [fire.scheduled_time for fire in page])
    data = [
        {
            "scheduledTime": format_datetime(fire.scheduled_time),
            "firedAt": format_datetime(fire.fired_at),
            "outcome": fire.outcome,
            "reason": fire.reason,
            "jobId": fire.job_id,
            "jobIds": jobs_of.get(fire.scheduled_time) or ([fire.job_id] if fire.job_id else []),
            "latenessSeconds": fire.lateness_seconds,
        }
        for fire in page
    ]
    return page_envelope(request, data, total=total, offset=offset, limit=limit)


def _preview(schedule: Schedule, after: datetime, count: int) -> dict[str, Any]:
    text = describe(schedule, after)
    return {
        "description": text.text,
        "warnings": text.warnings,
        "timezone": schedule.timezone or "UTC",
        "fires": [
            {
                "utc": format_datetime(fire.utc),
                "local": fire.local.isoformat(),
                "dst": fire.dst,
            }
            for fire in preview(schedule, after, count)
        ],
    }


def _after(value: object) -> datetime:
    if value is None:
        return utcnow()
    if not isinstance(value, str):
        raise InvalidInput.at("after", "must be an ISO-8601 date and time")
    moment = _moment("after", value)
    assert moment is not None
    return moment


def _moment(field: str, value: str | None) -> datetime | None:
    """An ISO-8601 moment (naive = UTC), or a 422 naming ``field``."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput.at(field, f"{value!r} is not an ISO-8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    # The year is checked in UTC: 9998-12-31T23:59-23:59 is already in 9999.
    if utc is None or not 1 < utc.year < 9999:
        raise InvalidInput.at(field, "must be a date between the years 2 and 9998 in UTC")
    return utc
