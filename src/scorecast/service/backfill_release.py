"""Releasing a backfill's planned times: each gets its job once a place is free.

Contracts:

- ``release(session, backfill, now)``: while fewer than ``max_concurrent`` of the backfill's jobs
  wait or run, its earliest planned times get their job (source ``backfill``, the time as
  ``scheduled_time``) and their fire row (outcome ``backfill``). The fire row is written
  first, ``ON CONFLICT DO NOTHING`` on its unique key (definition, scheduled time): a time
  whose fire row a scheduler or another backfill wrote first becomes ``skipped`` and gets no
  job. Planned times are read and decided a chunk at a time (the skipped ones of a chunk are
  one ``executemany`` statement), and one call examines at most ``budget`` of them
  (``MAX_TIMES_PER_TRANSACTION`` by default): a backfill whose range another backfill ran
  meanwhile is walked over several rounds, never in one long write transaction. When the spec
  no longer validates (the deployment was deleted, the intake became ``localFile``, which no
  one uploads to ...) the times tried become ``failed`` with the message; the spec is
  validated once per call. A backfill with nothing planned and nothing waiting or running
  becomes ``completed``.
- ``rerun``: a time that had a fire *before the backfill was asked for* gets a new job and its
  fire row is taken over (outcome ``backfill``, the earlier outcome in the reason), unless
  that fire's job still waits or runs (skipped). The take-over is a compare-and-set on the
  row, so two backfills cannot both rerun one time.
- ``release_backfills(session, now, after=...)``: ``release`` for the running backfills after
  ``after`` (by creation, id), at most ``limit`` of them and ``MAX_TIMES_PER_TRANSACTION``
  planned times in all; ``Released.resume_after`` says where the next transaction goes on
  (None: every running backfill was visited). The runtime's ``BackfillPump`` calls it until
  then in each round, one short transaction per call, so every running backfill is released
  every round however many there are, and no round holds a write lock for long. On PostgreSQL
  the backfills are locked ``FOR UPDATE SKIP LOCKED`` (another server releases the others); on
  SQLite the caller holds the write lock.
- ``record_outcomes(session)``: every released time whose job has ended gets the job's final
  status on its own row (``BackfillFire.job_status``), in one statement, so the outcome
  outlives the job's row (retention prunes it). The pump runs it every round.
- ``cancel(session, caller, backfill, now, reason)``: a running backfill becomes
  ``cancelled``; its planned times ``cancelled``; its jobs still waiting are aborted, and the
  fire rows this backfill wrote for them are deleted (those times never ran: a later backfill
  of the range runs them without ``rerun``); a fire row it took over (``rerun``) stays, as the
  time had run before. Jobs already running finish. ``cancel_definition_backfills`` does so
  for every running backfill of a definition (deleting the definition).

Everything flushes, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, cast

from sqlalchemy import Table, bindparam, delete, exists, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.domain.job_spec import JobSpec
from scorecast.domain.job_statuses import ACTIVE_STATUSES, TERMINAL_STATUSES
from scorecast.domain.schedule.backfill_plan import releasable
from scorecast.errors import InvalidInput, NotFound, ScorecastError
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

#: The most planned times one transaction examines (released, skipped or failed): about a
#: tenth of a second of work on SQLite, whose write lock the transaction holds.
MAX_TIMES_PER_TRANSACTION: Final = 2000
#: The most running backfills one transaction visits.
BACKFILLS_PER_TRANSACTION: Final = 100
#: Planned times read at once once some were skipped (at first only the free places' worth).
_CHUNK: Final = 500
_ENDED: Final = tuple(sorted(status.value for status in TERMINAL_STATUSES))


@dataclass
class Budget:
    """How many more planned times a transaction may examine."""

    left: int = MAX_TIMES_PER_TRANSACTION


@dataclass(frozen=True)
class Released:
    """What one ``release_backfills`` call did: the jobs it created, and the (created, id) of
    the last backfill it visited when others remain to visit (None when none remain)."""

    created: int
    resume_after: tuple[datetime, str] | None = None


def release_backfills(
    session: Session,
    now: datetime,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int = BACKFILLS_PER_TRANSACTION,
    app_settings: Settings | None = None,
) -> Released:
    """Release what the running backfills after ``after`` may (see the module docstring)."""
    query = (
        select(Backfill)
        .where(Backfill.status == "running")
        .order_by(Backfill.created, Backfill.id)
        .limit(limit)
    )
    if after is not None:  # a plain tuple: its values are bound with the columns' types
        query = query.where(tuple_(Backfill.created, Backfill.id) > after)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    found = session.scalars(query).all()
    budget = Budget()
    created = 0
    for backfill in found:
        created += release(session, backfill, now, app_settings=app_settings, budget=budget)
        if budget.left <= 0:
            return Released(created, (backfill.created, backfill.id))
    if len(found) == limit:
        return Released(created, (found[-1].created, found[-1].id))
    return Released(created)


def release_needed(session: Session) -> bool:
    """True when some backfill is running, or some released time's job ended without its
    outcome recorded (a cheap read before taking a write lock)."""
    running = session.scalar(select(Backfill.id).where(Backfill.status == "running").limit(1))
    if running is not None:
        return True
    unrecorded = exists().where(
        BackfillFire.state == "released",
        BackfillFire.job_status.is_(None),
        Job.id == BackfillFire.job_id,
        Job.status.in_(_ENDED),
    )
    return bool(session.scalar(select(unrecorded)))


def record_outcomes(session: Session, backfill_id: str | None = None) -> int:
    """Record the final status of every released time's job that has ended (of one backfill,
    or of all); how many. The times in flight are found by ``ix_backfill_fires_unrecorded``."""
    status = (
        select(Job.status)
        .where(Job.id == BackfillFire.job_id, Job.status.in_(_ENDED))
        .scalar_subquery()
    )
    statement = (
        update(BackfillFire)
        .where(
            BackfillFire.state == "released",
            BackfillFire.job_status.is_(None),
            exists().where(Job.id == BackfillFire.job_id, Job.status.in_(_ENDED)),
        )
        .values(job_status=status)
        .execution_options(synchronize_session=False)
    )
    if backfill_id is not None:
        statement = statement.where(BackfillFire.backfill_id == backfill_id)
    recorded = session.execute(statement)
    return int(recorded.rowcount)  # type: ignore[attr-defined]


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


@dataclass
class _Skips:
    """The times of a chunk that are skipped, written as one statement."""

    fires: list[tuple[BackfillFire, str]] = field(default_factory=list)

    def add(self, fire: BackfillFire, reason: str) -> None:
        self.fires.append((fire, reason))


def release(
    session: Session,
    backfill: Backfill,
    now: datetime,
    *,
    app_settings: Settings | None = None,
    budget: Budget | None = None,
) -> int:
    """Release the backfill's next planned times that fit; the number of jobs created.

    Times that end skipped or failed take no place: the next planned ones are tried, at most
    ``budget.left`` times in all (the rest are the next round's). The definition's spec is
    validated once per call; when it no longer validates, the times tried are ``failed``
    with the reason.
    """
    budget = budget or Budget()
    active = active_jobs(session, backfill.id)
    free = releasable(backfill.max_concurrent, active, planned=backfill.max_concurrent)
    created = 0
    run: _Run | None = None
    chunk = free
    while created < free and budget.left > 0:
        planned = _next_planned(session, backfill.id, min(max(chunk, free - created), budget.left))
        if not planned:
            break
        if run is None:
            try:
                run = _prepare(session, backfill, now, app_settings)
            except ScorecastError as exc:
                # the times not released yet end failed, as many as the budget allows a round
                failing = _next_planned(session, backfill.id, budget.left)
                for fire in failing:
                    fire.state, fire.reason = "failed", exc.message
                budget.left -= len(failing)
                session.flush()
                break
        existing = _fires_at(session, backfill.definition_id, [f.scheduled_time for f in planned])
        skips = _Skips()
        for fire in planned:
            if created == free:
                break
            budget.left -= 1
            created += _release_time(session, run, fire, existing.get(fire.scheduled_time), skips)
        _write_skips(session, skips)
        if skips.fires:
            chunk = _CHUNK
    if created:
        _note_on_definition(session, backfill.definition_id, now)
    if active + created == 0 and not _next_planned(session, backfill.id, 1):
        backfill.status, backfill.finished = "completed", now
        session.flush()
    return created


def cancel(
    session: Session, caller: Caller, backfill: Backfill, now: datetime, reason: str
) -> None:
    """Cancel the rest of a running ``backfill`` (see the module docstring); ``reason`` (who
    cancelled it) goes on its planned times."""
    backfill.status, backfill.finished = "cancelled", now
    session.execute(
        update(BackfillFire)
        .where(BackfillFire.backfill_id == backfill.id, BackfillFire.state == "planned")
        .values(state="cancelled", reason=reason)
        .execution_options(synchronize_session=False)
    )
    # The waiting jobs are locked first, then aborted (each abort notes it on the definition):
    # a worker's claim locks its job, then updates the definition, so taking the definition
    # before a job would deadlock with it (PostgreSQL). A job a claim holds is skipped: it is
    # starting, and it finishes as a running job does, its fire row kept.
    waiting = list(
        session.scalars(
            select(Job.id)
            .join(BackfillFire, BackfillFire.job_id == Job.id)
            .where(BackfillFire.backfill_id == backfill.id, Job.status == "INITIALIZING")
            .with_for_update(of=Job, skip_locked=True)
        ).all()
    )
    for job_id in waiting:
        jobs.abort_job(session, caller, job_id)
    if waiting:
        # those times never ran: without their fire rows, a later backfill runs them
        session.execute(
            delete(ScheduleFire)
            .where(
                ScheduleFire.definition_id == backfill.definition_id,
                ScheduleFire.job_id.in_(waiting),
                ScheduleFire.reason == _inserted_reason(backfill),
            )
            .execution_options(synchronize_session=False)
        )
    session.flush()
    record_outcomes(session, backfill.id)


def cancel_definition_backfills(
    session: Session, caller: Caller, definition_id: str, now: datetime, reason: str
) -> int:
    """``cancel`` every running backfill of the definition; how many there were."""
    running = session.scalars(
        select(Backfill).where(
            Backfill.definition_id == definition_id, Backfill.status == "running"
        )
    ).all()
    for backfill in running:
        cancel(session, caller, backfill, now, reason)
    return len(running)


def _prepare(
    session: Session, backfill: Backfill, now: datetime, app_settings: Settings | None
) -> _Run:
    caller = _caller(session, backfill)
    definition = in_org(session, JobDefinition, caller.org_id, backfill.definition_id)
    if definition.job_spec["intakeSettings"]["type"] == "localFile":
        raise InvalidInput.at(
            "intakeSettings.type",
            "the definition's intake is now localFile: no one uploads a backfill job's files",
        )
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
    session: Session, run: _Run, fire: BackfillFire, existing: ScheduleFire | None, skips: _Skips
) -> int:
    """The fire row first (inserted unless one exists, or taken over by a compare-and-set),
    then the job it names: a time another run fired first is skipped (added to ``skips``)
    without a savepoint."""
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
        skips.add(fire, blocker)
        return 0
    jobs.insert_job(
        session,
        run.caller,
        run.spec,
        jobs.BACKFILL_SOURCE,
        definition_id=backfill.definition_id,
        scheduled_time=moment,
        job_id=job_id,
    )
    note = f"Backfill {backfill.id}: scheduled time {_stamp(moment)}"
    session.add(JobLog(job_id=job_id, message=note, created=run.now))
    fire.state, fire.job_id = "released", job_id
    session.flush()
    return 1


def _write_skips(session: Session, skips: _Skips) -> None:
    """One ``executemany`` UPDATE for the skipped times of a chunk."""
    if not skips.fires:
        return
    table = cast("Table", BackfillFire.__table__)
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("fire_id"))
        .values(state="skipped", reason=bindparam("why")),
        [{"fire_id": fire.id, "why": reason} for fire, reason in skips.fires],
    )
    for fire, _ in skips.fires:
        session.expire(fire)


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
            reason=_inserted_reason(backfill),
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


def _inserted_reason(backfill: Backfill) -> str:
    """The reason of the fire rows the backfill inserted (not those it took over)."""
    return f"run by backfill {backfill.id}"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
