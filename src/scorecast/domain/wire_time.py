"""How the API and the notifications write a moment: RFC 3339 in UTC with microseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime | None) -> str | None:
    """``2024-05-04T11:20:41.691000Z``; a naive moment is UTC; None stays None.

    The year has four digits whatever it is: ``strftime("%Y")`` writes the year 2 as ``2`` on
    Linux, which no RFC 3339 reader takes."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S.%f}Z"
