"""Small helpers for DataRobot's wire format shared by the resource routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, Depends, Query
from pydantic import BeforeValidator

from scorecast.api.json_values import check_json_values
from scorecast.domain.wire_time import rfc3339

#: The largest ``offset`` of a list (a 32-bit signed integer: every store takes it).
MAX_OFFSET = 2**31 - 1


async def _json_object(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    # ``async``: the check is a walk of the body FastAPI has just parsed on the event loop;
    # a plain dependency would cost a hop to the thread pool on every request with a body
    check_json_values(body)
    return body


#: A JSON object request body whose values JSON can carry everywhere (``json_values``),
#: validated further by the service layer (which names bad fields).
JsonObject = Annotated[dict[str, Any], Depends(_json_object)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Query(ge=0, le=1000, description="page size; 0 means the default")]


def _iso_text(value: object) -> object:
    # pydantic would read a number (``0.5``) as a Unix time; the document promises date-times
    if isinstance(value, str) and not (value[:4].isdigit() and value[4:5] == "-"):
        raise ValueError("must be an ISO 8601 date-time such as 2024-05-04T11:20:41Z")
    return value


#: A date-time query parameter: ISO 8601 text only.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]


def format_datetime(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with microseconds: ``2024-05-04T11:20:41.691000Z``."""
    return rfc3339(moment)
