"""Backfills of a definition's schedule, ours beyond DataRobot (``service.backfills``).

- ``POST batchPredictionJobDefinitions/{id}/backfills/`` with ``{"start": ISO, "end": ISO,
  "maxConcurrent": N (default 1), "rerun": false}`` answers 202 with the backfill and a
  ``Location`` header;
- ``GET …/backfills/`` (DataRobot's list envelope, newest first) and ``GET …/backfills/{id}/``
  show each backfill with its ``progress``;
- ``DELETE …/backfills/{id}/`` cancels the rest and answers 202 with the backfill.

Times without a zone are UTC; a bad field is a 422 naming it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep, SettingsDep
from scorecast.api.documented import PAGE_RESPONSE
from scorecast.api.pagination import DEFAULT_LIMIT, page_envelope
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import JsonObject, Limit, Offset, format_datetime
from scorecast.errors import InvalidInput
from scorecast.service import backfills
from scorecast.store.models import Backfill
from scorecast.store.types import utcnow

router = APIRouter(tags=["Backfills"], route_class=TransactionRoute)

_PATH = "/batchPredictionJobDefinitions/{definition_id}/backfills/"
_FIELDS = frozenset({"start", "end", "maxConcurrent", "rerun"})


@router.post(_PATH, status_code=202, name="create_backfill")
def create_backfill(
    *,
    definition_id: str,
    body: JsonObject,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    app_settings: SettingsDep,
) -> dict[str, Any]:
    """Run the definition for every fire time of its schedule in ``[start, end)``."""
    backfill = backfills.create_backfill(
        session, caller, definition_id, _request(body), utcnow(), app_settings=app_settings
    )
    url = request.url_for("get_backfill", definition_id=definition_id, backfill_id=backfill.id)
    response.headers["Location"] = str(url)
    return _wire(session, [backfill])[0]


@router.get(_PATH, name="list_backfills", responses=PAGE_RESPONSE)
def list_backfills(
    *,
    definition_id: str,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The definition's backfills, newest first; ``limit=0`` means the default page size."""
    limit = limit or DEFAULT_LIMIT
    page, total = backfills.list_backfills(
        session, caller, definition_id, offset=offset, limit=limit
    )
    return page_envelope(request, _wire(session, page), total=total, offset=offset, limit=limit)


@router.get(_PATH + "{backfill_id}/", name="get_backfill")
def get_backfill(
    definition_id: str, backfill_id: str, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    backfill = backfills.get_backfill(session, caller, definition_id, backfill_id)
    return _wire(session, [backfill])[0]


@router.delete(_PATH + "{backfill_id}/", status_code=202, name="cancel_backfill")
def cancel_backfill(
    definition_id: str, backfill_id: str, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """Cancel the rest: planned times never run, waiting jobs are aborted, running ones finish."""
    backfill = backfills.cancel_backfill(session, caller, definition_id, backfill_id, utcnow())
    return _wire(session, [backfill])[0]


def _wire(session: Session, page: list[Backfill]) -> list[dict[str, Any]]:
    progress = backfills.progress_of(session, page)
    return [
        {
            "id": backfill.id,
            "definitionId": backfill.definition_id,
            "start": format_datetime(backfill.start_time),
            "end": format_datetime(backfill.end_time),
            "maxConcurrent": backfill.max_concurrent,
            "rerun": backfill.rerun,
            "status": backfill.status,
            "created": format_datetime(backfill.created),
            "finished": format_datetime(backfill.finished),
            "progress": vars(progress[backfill.id]),
        }
        for backfill in page
    ]


def _request(body: dict[str, Any]) -> backfills.BackfillRequest:
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidInput.at(unknown[0], "is not a field of a backfill")
    max_concurrent = body.get("maxConcurrent", 1)
    if type(max_concurrent) is not int:
        raise InvalidInput.at("maxConcurrent", "must be an integer")
    rerun = body.get("rerun", False)
    if type(rerun) is not bool:
        raise InvalidInput.at("rerun", "must be true or false")
    return backfills.BackfillRequest(
        start=_moment(body, "start"),
        end=_moment(body, "end"),
        max_concurrent=max_concurrent,
        rerun=rerun,
    )


def _moment(body: dict[str, Any], field: str) -> datetime:
    """An ISO-8601 moment (naive = UTC), or a 422 naming ``field``."""
    value = body.get(field)
    if value is None:
        raise InvalidInput.at(field, "is required")
    if not isinstance(value, str):
        raise InvalidInput.at(field, "must be an ISO-8601 date and time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput.at(field, f"{value!r} is not an ISO-8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1 < moment.year < 9999:
        raise InvalidInput.at(field, "must be a date between the years 2 and 9998")
    return moment.astimezone(UTC)
