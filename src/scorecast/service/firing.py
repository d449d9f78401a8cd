"""Firing due job definitions, a batch at a time: one fire row per (definition, scheduled time).

Contracts of ``fire_due_definitions(session, now, limit=...)`` (one batch, the caller's
transaction; it flushes, never commits):

- Due = ``enabled`` and ``next_scheduled_run_time <= now``, read through the index
  ``(enabled, next_scheduled_run_time, id)`` in that order, at most ``limit`` definitions
  (``service.due_batch``). On PostgreSQL they are locked ``FOR UPDATE SKIP LOCKED``, so
  concurrent schedulers split the due set instead of racing for it; on SQLite the caller holds
  the write lock. The batch is read as groups of definitions sharing one decision, so that the
  common case (plain definitions that each start one job) is decided once per group and
  written from the ids alone; the rest is read as rows and decided one by one. ``fire_batch``'s
  ``after`` (the ``last`` of the tick's batch before) starts the read after that definition in
  the index order, so a tick's batches do not read again what it passed (on PostgreSQL the index
  entries of the definitions it fired stay until vacuumed); a new tick starts from the start.
- The decision for every definition of the batch is ``domain.schedule.firing_plan`` (its
  overlap and catch-up policies, its jitter, its waiting and running jobs, and since when some
  scheduler ran without a gap: ``scheduler_liveness``). Only time when no scheduler ran makes
  a fire missed; a fire late because schedulers were busy runs late, with its lateness.
- The batch is written with a few statements whatever its size: the jobs, their first log line
  and the fire rows as bulk inserts, the definitions' next fire and last-run fields as one bulk
  update. The stored spec is trusted (it was validated when saved); a deployment, owner,
  credential, data store or dataset deleted since still makes the fire ``failed`` with the
  reason, and sets the definition's ``lastFailedRunTime``.
- A time that already has a fire row (a stale scheduler, a restart) is left alone: the row's
  unique key (definition, scheduled time) guards it, and a batch that still hits it rolls back
  whole, to be fired by the next tick.
- Skipped and missed fires raise their event (``service.events.emit``) in the same transaction.
- ``cancelRunning``: the definition's waiting jobs are aborted at once, its running ones are
  asked to abort (their worker stops them), each with the abort reason
  ``domain.run_policies.REPLACED`` (its ``statusDetails`` end with it; neither retried nor
  counted as a failure); a run the same batch created and replaced is recorded ``ABORTED``.
  Each job aborted so raises its ``FAILED`` event (``service.job_events``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scorecast.domain.schedule.liveness import AliveSpan
from scorecast.domain.schedule.outcomes import FireOutcome
from scorecast.service import run_outcomes
from scorecast.service.due_batch import due_groups, rows_of
from scorecast.service.fire_reasons import Outage
from scorecast.service.fire_writer import BatchWriter, Fire
from scorecast.service.scheduler_liveness import store_alive_since
from scorecast.store.models import (
    JobDefinition,
    ScheduleFire,
)

__all__ = ["Fire", "Outage", "fire_batch", "fire_due_definitions", "fire_history", "next_due_time"]


@dataclass(frozen=True)
class BatchResult:
    """One batch: how many due definitions it handled, and what happened to their times."""

    handled: int
    fires: list[Fire]
    #: the last definition read, as (next fire time, id): the next batch's ``after``
    last: tuple[datetime, str] | None = None


def fire_due_definitions(
    session: Session,
    now: datetime,
    *,
    limit: int = 100,
    outage: Outage | None = None,
    own_span: AliveSpan | None = None,
) -> list[Fire]:
    """Fire up to ``limit`` due definitions (see the module docstring); what happened, in order.

    ``outage``: when the calling scheduler could not reach the store, for missed fires' reasons;
    ``own_span``: the calling scheduler's own time alive (besides the heartbeats stored).
    """
    return fire_batch(session, now, limit=limit, outage=outage, own_span=own_span).fires


def fire_batch(
    session: Session,
    now: datetime,
    *,
    limit: int = 100,
    outage: Outage | None = None,
    own_span: AliveSpan | None = None,
    after: tuple[datetime, str] | None = None,
) -> BatchResult:
    """``fire_due_definitions`` that also says how many definitions the batch handled and the
    last one it read; ``after``: start after this (next fire time, id) (see the contracts)."""
    writer = BatchWriter(session, now, outage)
    groups = due_groups(session, now, limit, after)
    if not groups:
        return BatchResult(0, [])
    since = store_alive_since(session, now, own_span)
    one_by_one = [
        definition_id
        for group in groups
        if not writer.start_group(group, since)
        for definition_id in group.definition_ids
    ]
    due = rows_of(session, one_by_one)
    handled = sum(len(group.definition_ids) for group in groups)
    last = max((group.next_time, group.last_id) for group in groups)
    writer.plan(due, since)
    writer.write()
    _count_failed_fires(session, now, writer.fires)
    return BatchResult(handled, writer.fires, last)


def _count_failed_fires(session: Session, now: datetime, fires: list[Fire]) -> None:
    """A fire that failed without a run counts for its definition's ``autoDisableAfterFailures``
    (``run_outcomes``); rare, so each such definition is loaded whole."""
    failed = {f.definition_id: f.reason for f in fires if f.outcome is FireOutcome.FAILED}
    for definition_id, reason in failed.items():
        definition = session.get(JobDefinition, definition_id)
        if definition is not None:
            session.refresh(definition)  # the batch wrote it with Core statements
            run_outcomes.fire_failed(session, definition, now, reason or "the fire failed")


def next_due_time(session: Session, now: datetime) -> datetime | None:
    """When an enabled definition is due next (the scheduler's alarm): the earliest
    ``nextScheduledRunTime`` after ``now``, or the earliest due time (with jitter) of the
    definitions whose time has come. Each read stops early in the due index's order: the
    earliest arrived definition without jitter is its first entry, and only jittered ones
    before it can be due earlier (a jittered definition is due at or after its next time), so
    a burst of 100,000 due definitions is not read whole before the first is fired."""
    definition = JobDefinition
    enabled = definition.enabled.is_(True)
    upcoming = session.scalar(
        select(func.min(definition.next_scheduled_run_time)).where(
            enabled, definition.next_scheduled_run_time > now
        )
    )
    first_unjittered = session.scalar(
        select(definition.next_scheduled_run_time)
        .where(enabled, definition.next_scheduled_run_time <= now, definition.next_due_at.is_(None))
        .order_by(definition.next_scheduled_run_time)
        .limit(1)
    )
    before = (
        definition.next_scheduled_run_time <= now
        if first_unjittered is None
        else definition.next_scheduled_run_time < first_unjittered
    )
    jittered = session.scalar(
        select(func.min(definition.next_due_at)).where(
            enabled, before, definition.next_due_at.is_not(None)
        )
    )
    times = [moment for moment in (upcoming, first_unjittered, jittered) if moment is not None]
    return min(times) if times else None


def fire_history(session: Session, definition_id: str, limit: int = 100) -> list[ScheduleFire]:
    """The most recent fires of a definition, newest first."""
    return list(
        session.scalars(
            select(ScheduleFire)
            .where(ScheduleFire.definition_id == definition_id)
            .order_by(ScheduleFire.scheduled_time.desc())
            .limit(limit)
        ).all()
    )
