"""When schedulers were alive (pure): tells a busy scheduler's late fire from a missed one.

Each scheduler records one span ``[since, last_seen]`` while it runs (a heartbeat row; ``since``
is when it started or last recovered from a store outage). ``alive_since(spans, now, grace)``
is the start of the gap-free stretch of time, up to ``now``, during which at least one scheduler
was alive: spans that overlap or are less than ``grace`` apart join (a restart, or heartbeats a
busy scheduler writes once per batch). A fire time at or after it was only late; a fire time
before it fell while no scheduler ran (a downtime), and the catch-up policy decides it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class AliveSpan:
    """One scheduler's time alive: ``since`` to ``last_seen`` (UTC)."""

    since: datetime
    last_seen: datetime


def alive_since(spans: Iterable[AliveSpan], now: datetime, grace: timedelta) -> datetime | None:
    """The start of the stretch up to ``now`` covered by ``spans`` (gaps under ``grace``
    joined); ``None`` when no span reaches within ``grace`` of ``now``."""
    start: datetime | None = None
    reach = now
    for span in sorted(spans, key=lambda s: s.last_seen, reverse=True):
        if span.last_seen + grace < reach:
            break
        if span.since > min(span.last_seen, now):
            continue
        start = span.since if start is None else min(start, span.since)
        reach = min(reach, span.since)
    return start
