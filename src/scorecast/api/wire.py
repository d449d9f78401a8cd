"""Small helpers for DataRobot's wire format shared by the resource routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Body, Query

#: A JSON object request body, validated by the service layer (which names bad fields).
JsonObject = Annotated[dict[str, Any], Body()]
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=0, le=1000, description="page size; 0 means the default")]


def format_datetime(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with microseconds: ``2024-05-04T11:20:41.691000Z``."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
