"""Column types shared by the store's tables."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def new_id() -> str:
    """A 24-hex-digit id, the shape of DataRobot's ObjectIds (clients may validate it), laid
    out like one: the second it was made (8 hex digits) first, then 64 random bits.

    Ids made later sort later (to the second), so an index on ids takes new rows at its end
    rather than at random places: with random ids every new job dirtied a page of its own in
    each such index (the jobs' key, the job log's and the fire rows' job ids): a burst of
    100,000 scheduled jobs took 14.8 s on SQLite instead of 10.5-10.9 s (``docs/performance.md``).
    The random part keeps ids unguessable. ``store.scheduled_jobs`` makes ids of this layout in
    SQL."""
    return id_made_at(time.time())


def id_made_at(seconds: float) -> str:
    """A new id of ``new_id``'s layout for the moment ``seconds`` (since the epoch, before
    2106)."""
    return f"{int(seconds):08x}{secrets.token_hex(8)}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores no zone; naive values are UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        utc_value: datetime = value.astimezone(UTC)
        return utc_value.replace(tzinfo=None) if dialect.name == "sqlite" else utc_value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
