"""Firing due job definitions: one fire row per (definition, scheduled time), with its job.

Contracts of ``fire_due_definitions(session, now)``:

- Due = ``enabled`` and ``next_scheduled_run_time <= now``. Each due definition is handled in
  its own savepoint: the ``ScheduleFire`` row and the job (``job_from_definition``, source
  ``scheduled``) are written together, and the fire row's unique key (definition, scheduled
  time) makes a second scheduler, or a restart, unable to fire the same time twice. On
  PostgreSQL due definitions are locked with ``FOR UPDATE SKIP LOCKED`` (a concurrent scheduler
  skips them); on SQLite the caller holds the write lock (``session_scope(engine,
  immediate=True)``).
- **Overlap**: when the definition's previous job is still ``INITIALIZING`` or ``RUNNING``, the
  fire is recorded ``skipped`` with the reason and no job is created.
- **Catch-up** after downtime: of the fire times that passed, only the latest can run, and only
  when it is less than ``CATCH_UP_WINDOW`` (one hour) late; every other one is recorded
  ``missed`` with its reason. At most ``MAX_RECORDED_MISSES`` misses get a row each; older ones
  are summed up in one row. The reason says why no scheduler fired the time: during the
  ``outage`` the caller lived through, the database could not be reached; otherwise no
  scheduler was running (or none could reach the database: this one cannot tell).
- A fire whose job cannot be created (the deployment was deleted, the spec no longer validates)
  is recorded ``failed`` with the error message and the definition's ``lastFailedRunTime``.
- Afterwards ``lastScheduledRunTime`` is the time of the last fire that started a job and
  ``nextScheduledRunTime`` the first fire time after ``now``.

The function flushes and never commits; the caller's transaction commits.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scorecast.domain.schedule import next_fire_after, parse_schedule
from scorecast.errors import ScorecastError
from scorecast.service import run_outcomes
from scorecast.service.jobs import caller_for_definition, job_from_definition
from scorecast.store.models import Job, JobDefinition, ScheduleFire

#: A fire later than this after its scheduled time is not run but recorded ``missed``.
CATCH_UP_WINDOW: Final = timedelta(hours=1)
#: Misses recorded one row each; older ones are summed up in one row.
MAX_RECORDED_MISSES: Final = 100
#: Fire times walked one by one after a downtime before jumping to ``now``.
_MAX_WALK: Final = 100_000
ACTIVE_STATUSES: Final = ("INITIALIZING", "RUNNING")


@dataclass(frozen=True)
class Outage:
    """A span of time during which a scheduler could not reach the store (UTC, naive)."""

    start: datetime
    end: datetime

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


@dataclass(frozen=True)
class Fire:
    """What happened to one scheduled time: ``started`` / ``skipped`` / ``missed`` / ``failed``."""

    definition_id: str
    scheduled_time: datetime
    outcome: str
    job_id: str | None = None
    reason: str | None = None


def fire_due_definitions(
    session: Session, now: datetime, *, limit: int = 100, outage: Outage | None = None
) -> list[Fire]:
    """Fire up to ``limit`` due definitions (see the module docstring); what happened, in order.

    ``outage``: when the calling scheduler could not reach the store, for missed fires' reasons.
    """
    query = (
        select(JobDefinition)
        .where(
            JobDefinition.enabled.is_(True),
            JobDefinition.next_scheduled_run_time.is_not(None),
            JobDefinition.next_scheduled_run_time <= now,
        )
        .order_by(JobDefinition.next_scheduled_run_time, JobDefinition.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    fires: list[Fire] = []
    for definition_id in [d.id for d in session.scalars(query).all()]:
        try:
            with session.begin_nested():
                definition = session.get(JobDefinition, definition_id)
                if definition is not None:
                    fires.extend(_fire(session, definition, now, outage))
        except IntegrityError:
            continue  # another scheduler fired this time first: its rows stand
    return fires


def next_due_time(session: Session) -> datetime | None:
    """The earliest ``nextScheduledRunTime`` of an enabled definition (the scheduler's alarm)."""
    return session.scalar(
        select(func.min(JobDefinition.next_scheduled_run_time)).where(
            JobDefinition.enabled.is_(True)
        )
    )


def _fire(
    session: Session, definition: JobDefinition, now: datetime, outage: Outage | None
) -> list[Fire]:
    assert definition.next_scheduled_run_time is not None
    if definition.schedule is None:
        definition.next_scheduled_run_time = None
        return []
    schedule = parse_schedule(definition.schedule)
    passed: deque[datetime] = deque(maxlen=MAX_RECORDED_MISSES + 1)
    dropped: list[datetime] = []  # first and last of the misses beyond the recorded ones
    dropped_count = 0
    moment: datetime | None = definition.next_scheduled_run_time
    walked = 0
    while moment is not None and moment <= now:
        if len(passed) == passed.maxlen:
            oldest = passed[0]
            dropped = [dropped[0] if dropped else oldest, oldest]
            dropped_count += 1
        passed.append(moment)
        walked += 1
        if walked >= _MAX_WALK:
            moment = next_fire_after(schedule, now)
            break
        moment = next_fire_after(schedule, moment)
    definition.next_scheduled_run_time = moment
    if not passed:
        return []
    latest = passed.pop()
    fires: list[Fire] = []
    if dropped_count:
        reason = (
            f"{dropped_count} fires from {_stamp(dropped[0])} to {_stamp(dropped[1])} passed "
            f"while {_why_not_fired(dropped[1], outage)}"
        )
        fires.append(_record(session, definition, dropped[0], now, "missed", reason=reason))
    for moment_missed in passed:
        reason = (
            f"not fired at {_stamp(moment_missed)}: {_why_not_fired(moment_missed, outage)}; "
            f"after a downtime only the latest fire time runs, if it is less than "
            f"{_hours(CATCH_UP_WINDOW)} late"
        )
        fires.append(_record(session, definition, moment_missed, now, "missed", reason=reason))
    if now - latest >= CATCH_UP_WINDOW:
        reason = (
            f"not fired at {_stamp(latest)}: {_why_not_fired(latest, outage)}; it is now more "
            f"than {_hours(CATCH_UP_WINDOW)} late"
        )
        fires.append(_record(session, definition, latest, now, "missed", reason=reason))
        return fires
    fires.append(_start(session, definition, latest, now))
    return fires


def _start(session: Session, definition: JobDefinition, moment: datetime, now: datetime) -> Fire:
    running = session.scalars(
        select(Job)
        .where(Job.definition_id == definition.id, Job.status.in_(ACTIVE_STATUSES))
        .order_by(Job.created.desc())
        .limit(1)
    ).first()
    if running is not None:
        reason = f"the previous run (job {running.id}) was still {running.status}"
        return _record(session, definition, moment, now, "skipped", reason=reason)
    try:
        with session.begin_nested():
            caller = caller_for_definition(session, definition)
            job = job_from_definition(
                session, caller, definition.id, source="scheduled", scheduled_time=moment
            )
    except ScorecastError as exc:
        definition.last_failed_run_time = now
        failed = _record(session, definition, moment, now, "failed", reason=exc.message)
        run_outcomes.fire_failed(session, definition, now, exc.message)  # autoDisable counts it
        return failed
    definition.last_scheduled_run_time = moment
    return _record(session, definition, moment, now, "started", job_id=job.id)


def _record(
    session: Session,
    definition: JobDefinition,
    moment: datetime,
    now: datetime,
    outcome: str,
    *,
    job_id: str | None = None,
    reason: str | None = None,
) -> Fire:
    session.add(
        ScheduleFire(
            definition_id=definition.id,
            scheduled_time=moment,
            fired_at=now,
            outcome=outcome,
            reason=reason,
            job_id=job_id,
        )
    )
    session.flush()  # the unique key speaks here, inside the caller's savepoint
    return Fire(definition.id, moment, outcome, job_id, reason)


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


def _why_not_fired(moment: datetime, outage: Outage | None) -> str:
    if outage is not None and outage.covers(moment):
        return (
            f"the scheduler could not reach its database from {_stamp(outage.start)} "
            f"to {_stamp(outage.end)}"
        )
    return "no scheduler was running, or none could reach its database"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _hours(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return "one hour" if hours == 1 else f"{hours:g} hours"
