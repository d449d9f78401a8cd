"""Scheduler heartbeats: each running scheduler's span of time alive, kept in the store.

- ``beat(session, scheduler_id, since, now)`` records that the scheduler ``scheduler_id`` has
  been alive from ``since`` (its start, or its recovery from a store outage) until ``now``.
  Schedulers beat every few seconds while idle and with every batch while busy.
- ``store_alive_since(session, now, own)`` is the start of the gap-free stretch up to ``now``
  during which some scheduler ran (``domain.schedule.liveness.alive_since``), from every
  scheduler's row and the caller's own span: a fire time before it fell in a downtime.
- Rows not seen for ``KEEP_ROWS`` are deleted by ``beat`` (older spans cannot decide a fire:
  each definition's due times start after its last handled fire).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from scorecast.domain.schedule.liveness import AliveSpan, alive_since
from scorecast.store.models import SchedulerHeartbeat

#: Two spans less than this apart count as one stretch (a restart, a pause between beats).
GRACE: Final = timedelta(seconds=30)
#: Rows of schedulers not seen for this long are deleted.
KEEP_ROWS: Final = timedelta(days=7)


def beat(session: Session, scheduler_id: str, since: datetime, now: datetime) -> None:
    """Record ``scheduler_id`` alive from ``since`` to ``now`` (in the caller's transaction)."""
    updated = session.execute(
        update(SchedulerHeartbeat)
        .where(SchedulerHeartbeat.id == scheduler_id)
        .values(since=since, last_seen=now)
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(
            delete(SchedulerHeartbeat).where(SchedulerHeartbeat.last_seen < now - KEEP_ROWS)
        )
        session.execute(
            insert(SchedulerHeartbeat).values(id=scheduler_id, since=since, last_seen=now)
        )


def store_alive_since(
    session: Session, now: datetime, own: AliveSpan | None = None
) -> datetime | None:
    """Since when some scheduler has run without a gap until ``now`` (``None``: none runs)."""
    rows = session.execute(
        select(SchedulerHeartbeat.since, SchedulerHeartbeat.last_seen).where(
            SchedulerHeartbeat.last_seen >= now - KEEP_ROWS
        )
    ).all()
    spans = [AliveSpan(row.since, row.last_seen) for row in rows]
    if own is not None:
        spans.append(own)
    return alive_since(spans, now, GRACE)
