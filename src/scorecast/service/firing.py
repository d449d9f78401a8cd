"""Firing due job definitions, a batch at a time: one fire row per (definition, scheduled time).

Contracts of ``fire_due_definitions(session, now, limit=...)`` (one batch, the caller's
transaction; it flushes, never commits):

- Due = ``enabled`` and ``next_scheduled_run_time <= now``, read through the index
  ``(enabled, next_scheduled_run_time, id)`` in that order, at most ``limit`` definitions. On
  PostgreSQL they are locked ``FOR UPDATE SKIP LOCKED``, so concurrent schedulers split the due
  set instead of racing for it; on SQLite the caller holds the write lock. ``fire_batch``'s
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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Text, cast, func, literal, or_, select, tuple_
from sqlalchemy.engine import Result, Row
from sqlalchemy.orm import Session

from scorecast.domain.schedule.liveness import AliveSpan
from scorecast.domain.schedule.outcomes import FireOutcome
from scorecast.service import run_outcomes
from scorecast.service.fire_reasons import Outage
from scorecast.service.fire_writer import REFERENCE_KEYS, BatchWriter, Fire
from scorecast.service.scheduler_liveness import store_alive_since
from scorecast.store.json_text import json_text
from scorecast.store.models import (
    JobDefinition,
    ScheduleFire,
)
from scorecast.store.planner_hints import planner_avoids
from scorecast.store.types import UTCDateTime

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
    due = _due(session, now, limit, after)
    if not due:
        return BatchResult(0, [])
    since = store_alive_since(session, now, own_span)
    writer = BatchWriter(session, now, outage, due)
    writer.plan(since)
    writer.write()
    _count_failed_fires(session, now, writer.fires)
    return BatchResult(len(due), writer.fires, (due[-1].next_scheduled_run_time, due[-1].id))


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
    definitions whose time has come. Both read the due index by range."""
    enabled = JobDefinition.enabled.is_(True)
    upcoming = session.scalar(
        select(func.min(JobDefinition.next_scheduled_run_time)).where(
            enabled, JobDefinition.next_scheduled_run_time > now
        )
    )
    arrived = session.scalar(
        select(
            func.min(
                func.coalesce(JobDefinition.next_due_at, JobDefinition.next_scheduled_run_time)
            )
        ).where(enabled, JobDefinition.next_scheduled_run_time <= now)
    )
    times = [moment for moment in (upcoming, arrived) if moment is not None]
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


#: What the batch reads of each due definition. The schedule and policies come as their JSON
#: text (the writer parses each distinct text once); of the spec only the few fields the
#: decision needs, read in SQL: the whole spec is loaded only for the rare definitions whose
#: jobs the writer builds row by row (``fire_writer.BatchWriter``).
_DUE_COLUMNS: Final = (
    JobDefinition.id,
    JobDefinition.org_id,
    cast(JobDefinition.schedule, Text).label("schedule_text"),
    cast(JobDefinition.policies, Text).label("policies_text"),
    json_text(JobDefinition.job_spec, "deploymentId").label("spec_deployment_id"),
    json_text(JobDefinition.job_spec, "intakeSettings", "type").label("intake_type"),
    or_(
        *(
            json_text(JobDefinition.job_spec, side, key).is_not(None)
            for side in ("intakeSettings", "outputSettings")
            for key in REFERENCE_KEYS
        )
    ).label("has_references"),
    JobDefinition.next_scheduled_run_time,
    JobDefinition.updated_by,
    JobDefinition.created_by,
)


def _due(
    session: Session, now: datetime, limit: int, after: tuple[datetime, str] | None
) -> Sequence[Row[Any]]:
    query = (
        select(*_DUE_COLUMNS)
        .where(
            JobDefinition.enabled.is_(True),
            JobDefinition.next_scheduled_run_time.is_not(None),
            JobDefinition.next_scheduled_run_time <= now,
            or_(JobDefinition.next_due_at.is_(None), JobDefinition.next_due_at <= now),
        )
        .order_by(JobDefinition.next_scheduled_run_time, JobDefinition.id)
        .limit(limit)
    )
    if after is not None:
        order = tuple_(JobDefinition.next_scheduled_run_time, JobDefinition.id)
        query = query.where(order > tuple_(literal(after[0], UTCDateTime()), literal(after[1])))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=JobDefinition, skip_locked=True)
    # the due index in its order, stopping at ``limit``, never every due definition sorted;
    # plain rows through the session's connection (a batch's thousands of rows skip the ORM's
    # loading, which cost more than the query)
    with planner_avoids(session, "sort", "bitmapscan"):
        result: Result[Any] = session.connection().execute(query)
        return result.all()
