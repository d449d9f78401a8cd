"""Column types shared by the store's tables."""

from __future__ import annotations

import os
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: the id sequence wraps at this (6 hex digits)
ID_SEQUENCE_SPAN: Final = 1 << 24


class _IdSequence:
    """This process's id sequence: a random start, thread-safe, reseeded in a forked child
    (which must not repeat its parent's ids)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = secrets.randbelow(ID_SEQUENCE_SPAN)

    def reserve(self, count: int) -> int:
        """The first of ``count`` consecutive values (modulo ``ID_SEQUENCE_SPAN``)."""
        with self._lock:
            first = self._next
            self._next = (first + count) % ID_SEQUENCE_SPAN
        return first

    def reseed(self) -> None:
        self._lock = threading.Lock()
        self._next = secrets.randbelow(ID_SEQUENCE_SPAN)


_SEQUENCE = _IdSequence()
os.register_at_fork(after_in_child=_SEQUENCE.reseed)


def new_id() -> str:
    """A 24-hex-digit id, the shape of DataRobot's ObjectIds (clients may validate it), laid
    out like one: the second it was made (8 hex digits), this process's next sequence number
    (6), then 40 random bits (10).

    Ids a process makes later sort later, so an index on ids takes new rows at its end rather
    than at random places: with random ids every new job dirtied a page of its own in each such
    index (the jobs' key, the job log's and the fire rows' job ids). A burst of 100,000
    scheduled jobs on SQLite took 14.8 s with random ids, 10.5-10.9 s with the second first
    and random bits after it, and 7.9-9.4 s with the sequence (``docs/performance.md``). The
    random part keeps an id unguessable from its neighbours. ``store.scheduled_jobs`` makes ids
    of this layout in SQL, a reserved run of the sequence for each batch
    (``reserve_id_sequence``)."""
    return id_made_at(time.time())


def id_made_at(seconds: float) -> str:
    """A new id of ``new_id``'s layout for the moment ``seconds`` (since the epoch, before
    2106)."""
    return f"{int(seconds):08x}{_SEQUENCE.reserve(1):06x}{secrets.token_hex(5)}"


def reserve_id_sequence(count: int) -> int:
    """The first of ``count`` consecutive sequence numbers of this process, for ids made
    elsewhere (in SQL) in ``new_id``'s layout; they wrap at ``ID_SEQUENCE_SPAN``."""
    return _SEQUENCE.reserve(count)


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
