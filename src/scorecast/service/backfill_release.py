"""Releasing a backfill's planned times: each gets its job once a place is free.

Contracts:

- ``release(session, backfill, now)``: while fewer than ``max_concurrent`` of the backfill's jobs
  wait or run, its earliest planned times get their job (source ``backfill``, the time as
  ``scheduled_time``) and their fire row (outcome ``backfill``). The fire row is written
  first, ``ON CONFLICT DO NOTHING`` on its unique key (definition, scheduled time): a time
  whose fire row a scheduler or another backfill wrote first becomes ``skipped`` and gets no
  job. When the spec no longer validates (the deployment was deleted ...) the times tried
  become ``failed`` with the message; the spec is validated once per call. A backfill with
  nothing planned and nothing waiting or running becomes ``completed``.
- ``rerun``: a time that had a fire *before the backfill was asked for* gets a new job and its
  fire row is taken over (outcome ``backfill``, the earlier outcome in the reason), unless
  that fire's job still waits or runs (skipped). The take-over is a compare-and-set on the
  row, so two backfills cannot both rerun one time.
- ``release_backfills(session, now)``: ``release`` for every running backfill. On PostgreSQL
  the backfills are locked ``FOR UPDATE SKIP LOCKED`` (another server releases the others); on
  SQLite the caller holds the write lock. Called by the runtime's ``BackfillPump``.

Everything flushes, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.domain.job_spec import JobSpec
from scorecast.domain.job_statuses import ACTIVE_STATUSES
from scorecast.domain.schedule.backfill_plan import releasable
from scorecast.errors import NotFound, ScorecastError
from scorecast.service import accounts, jobs
from scorecast.service.caller import Caller
from scorecast.store.models import (
    Backfill,
    BackfillFire,
    Job,
    JobDefinition,
    JobLog,
    ScheduleFire,
    User,
)
from scorecast.store.org_scope import in_org
from scorecast.store.types import new_id


def release_backfills(
    session: Session, now: datetime, *, limit: int = 100, app_settings: Settings | None = None
) -> int:
    """Release what each running backfill may (see the module docstring); jobs created."""
    query = (
        select(Backfill)
        .where(Backfill.status == "running")
        .order_by(Backfill.created, Backfill.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return sum(
        release(session, backfill, now, app_settings=app_settings)
        for backfill in session.scalars(query).all()
    )


def any_running_backfill(session: Session) -> bool:
    """True when some backfill is running (a cheap read before taking a write lock)."""
    found = session.scalar(select(Backfill.id).where(Backfill.status == "running").limit(1))
    return found is not None


def active_jobs(session: Session, backfill_id: str) -> int:
    """How many of the backfill's jobs wait or run (the few active jobs, joined to its times)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Job)
            .join(BackfillFire, BackfillFire.job_id == Job.id)
            .where(Job.status.in_(ACTIVE_STATUSES), BackfillFire.backfill_id == backfill_id)
        )
        or 0
    )


@dataclass(frozen=True)
class _Run:
    """What every job of one release shares: who asks, the spec (validated once), when."""

    backfill: Backfill
    caller: Caller
    spec: JobSpec
    now: datetime


def release(
    session: Session, backfill: Backfill, now: datetime, *, app_settings: Settings | None = None
) -> int:
    """Release the backfill's next planned times that fit; the number of jobs created.

    Times that end skipped or failed take no place: the next planned ones are tried. The
    definition's spec is validated once per call; when it no longer validates, the times
    tried are ``failed`` with the reason.
    """
    active = active_jobs(session, backfill.id)
    free = releasable(backfill.max_concurrent, active, planned=backfill.max_concurrent)
    created = 0
    run: _Run | None = None
    while created < free:
        planned = _next_planned(session, backfill.id, free - created)
        if not planned:
            break
        if run is None:
            try:
                run = _prepare(session, backfill, now, app_settings)
            except ScorecastError as exc:
                for fire in planned:  # the next round tries the next ones
                    fire.state, fire.reason = "failed", exc.message
                session.flush()
                break
        existing = _fires_at(session, backfill.definition_id, [f.scheduled_time for f in planned])
        for fire in planned:
            created += _release_time(session, run, fire, existing.get(fire.scheduled_time))
    if created:
        _note_on_definition(session, backfill.definition_id, now)
    if active + created == 0 and not _next_planned(session, backfill.id, 1):
        backfill.status, backfill.finished = "completed", now
        session.flush()
    return created


def _prepare(
    session: Session, backfill: Backfill, now: datetime, app_settings: Settings | None
) -> _Run:
    caller = _caller(session, backfill)
    definition = in_org(session, JobDefinition, caller.org_id, backfill.definition_id)
    spec = jobs.validate_job_spec(session, caller, definition.job_spec, app_settings=app_settings)
    return _Run(backfill, caller, spec, now)


def _next_planned(session: Session, backfill_id: str, count: int) -> list[BackfillFire]:
    return list(
        session.scalars(
            select(BackfillFire)
            .where(BackfillFire.backfill_id == backfill_id, BackfillFire.state == "planned")
            .order_by(BackfillFire.scheduled_time)
            .limit(count)
        ).all()
    )


def _fires_at(
    session: Session, definition_id: str, moments: list[datetime]
) -> dict[datetime, ScheduleFire]:
    found = session.scalars(
        select(ScheduleFire).where(
            ScheduleFire.definition_id == definition_id, ScheduleFire.scheduled_time.in_(moments)
        )
    ).all()
    return {fire.scheduled_time: fire for fire in found}


def _release_time(
    session: Session, run: _Run, fire: BackfillFire, existing: ScheduleFire | None
) -> int:
    """The fire row first (inserted unless one exists, or taken over by a compare-and-set),
    then the job it names: a time another run fired first is skipped without a savepoint."""
    backfill, moment = run.backfill, fire.scheduled_time
    blocker = None if existing is None else _blocker(session, backfill, existing)
    if blocker is None:
        job_id = new_id()
        if existing is None:
            claimed = _insert_fire(session, backfill, moment, job_id, run.now)
        else:
            claimed = _take_over(session, backfill, existing, job_id, run.now)
        if not claimed:
            blocker = "another run fired this time first"
    if blocker is not None:
        fire.state, fire.reason = "skipped", blocker
        session.flush()
        return 0
    jobs.insert_job(
        session,
        run.caller,
        run.spec,
        "backfill",
        definition_id=backfill.definition_id,
        scheduled_time=moment,
        job_id=job_id,
    )
    note = f"Backfill {backfill.id}: scheduled time {_stamp(moment)}"
    session.add(JobLog(job_id=job_id, message=note, created=run.now))
    fire.state, fire.job_id = "released", job_id
    session.flush()
    return 1


def _insert_fire(
    session: Session, backfill: Backfill, moment: datetime, job_id: str, now: datetime
) -> bool:
    """Insert the time's fire row naming ``job_id``; False when a row for it exists already
    (``ON CONFLICT DO NOTHING`` on the unique key: no error, no savepoint)."""
    dialect = session.get_bind().dialect.name
    insert_into = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert_into(ScheduleFire)
        .values(
            definition_id=backfill.definition_id,
            scheduled_time=moment,
            fired_at=now,
            outcome="backfill",
            reason=f"run by backfill {backfill.id}",
            job_id=job_id,
        )
        .on_conflict_do_nothing(index_elements=["definition_id", "scheduled_time"])
        .returning(ScheduleFire.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _note_on_definition(session: Session, definition_id: str, now: datetime) -> None:
    """The definition's last started job: as ``job_from_definition`` records it."""
    definition = session.get(JobDefinition, definition_id)
    if definition is not None:
        definition.last_started_job_status = "INITIALIZING"
        definition.last_started_job_time = now
        session.flush()


def _blocker(session: Session, backfill: Backfill, existing: ScheduleFire) -> str | None:
    """Why an existing fire stops this backfill from running its time; None when it may."""
    if not backfill.rerun:
        return f"this time already has a fire ({existing.outcome}); rerun was not asked for"
    if existing.fired_at >= backfill.created:
        return f"another run fired this time after the backfill was asked for ({existing.outcome})"
    if existing.job_id is not None:
        status = session.scalar(select(Job.status).where(Job.id == existing.job_id))
        if status in ACTIVE_STATUSES:
            return f"its run (job {existing.job_id}) still waits or runs"
    return None


def _take_over(
    session: Session, backfill: Backfill, existing: ScheduleFire, job_id: str, now: datetime
) -> bool:
    """Make the existing fire row name ``job_id``, unless it changed since it was read."""
    before = existing.outcome + (f", job {existing.job_id}" if existing.job_id else "")
    job_match = (
        ScheduleFire.job_id.is_(None)
        if existing.job_id is None
        else ScheduleFire.job_id == existing.job_id
    )
    changed = session.execute(
        update(ScheduleFire)
        .where(
            ScheduleFire.id == existing.id,
            ScheduleFire.fired_at == existing.fired_at,
            job_match,
        )
        .values(
            outcome="backfill",
            fired_at=now,
            job_id=job_id,
            reason=f"rerun by backfill {backfill.id} (before: {before})",
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(existing)
    return bool(changed.rowcount == 1)  # type: ignore[attr-defined]


def _caller(session: Session, backfill: Backfill) -> Caller:
    """The backfill's jobs act as the user who asked for it."""
    user = session.get(User, backfill.created_by)
    if user is None:
        raise NotFound(f"the user who asked for backfill {backfill.id} no longer exists")
    return accounts.caller_of(user, backfill.org_id)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
