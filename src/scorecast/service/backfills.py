"""Backfills: back-running a definition's schedule over ``[start, end)``, ours beyond DataRobot.

Contracts:

- ``create_backfill`` stores the backfill and one ``backfill_fires`` row per fire time of the
  definition's schedule in the range (``domain.schedule.backfill_plan``: at most
  ``MAX_BACKFILL_FIRES``), each ``planned`` or ``skipped`` with its reason, then releases the
  first ``maxConcurrent`` in the same transaction. ``end`` may not be in the future, and times
  at or after an enabled definition's next scheduled run are the scheduler's (skipped).
- ``preview_backfill`` makes the same checks and the same plan and stores nothing: how many
  fire times the range holds and how many would get a job (the console's preview).
- Releasing a planned time (``service.backfill_release``) creates its job (source
  ``backfill``, with its ``scheduledTime``) and its fire row (outcome ``backfill``) in one
  savepoint; the fire rows' unique key (definition, scheduled time) makes a time that a
  scheduler or another backfill fired first a skipped one, never a second job.
- ``backfill_times``: a page of a backfill's fire times with their state and job.
- ``progress_of``: a released time counts by its job's status, its final one as recorded on
  the time's own row once the job ended (``backfill_release.record_outcomes``), so a job that
  retention pruned keeps its outcome; a pruned job whose outcome was never recorded counts as
  ``failed`` (nothing vouches for it).
- ``cancel_backfill``: the planned times become ``cancelled`` and the jobs still waiting are
  aborted, their fire rows deleted (those times never ran: a later backfill of the range runs
  them); jobs already running finish (their output is complete or absent, never half). See
  ``backfill_release.cancel``.
- Everything is in the caller's organization: another organization's definition or backfill is
  answered as unknown (404). Functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.domain.schedule import parse_schedule
from scorecast.domain.schedule.backfill_plan import (
    MAX_BACKFILL_FIRES,
    PlannedTime,
    TooManyFireTimes,
    fire_times_between,
    plan_backfill,
)
from scorecast.errors import Conflict, InvalidInput
from scorecast.service import backfill_release, definitions, jobs
from scorecast.service.caller import Caller
from scorecast.store.models import Backfill, BackfillFire, Job, JobDefinition, ScheduleFire
from scorecast.store.org_scope import in_org, org_page

#: The most jobs of one backfill that may wait or run at once.
MAX_CONCURRENT: Final = 1000
STATUSES: Final = ("running", "completed", "cancelled")


@dataclass(frozen=True)
class BackfillRequest:
    """What ``POST …/backfills/`` asks for (times aware UTC)."""

    start: datetime
    end: datetime
    max_concurrent: int = 1
    rerun: bool = False


@dataclass
class Progress:
    """A backfill's fire times by what became of them (``total`` is their sum)."""

    total: int = 0
    planned: int = 0
    waiting: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    aborted: int = 0
    skipped: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class BackfillPreview:
    """What a backfill would do: its fire times, how many get a job and how many are skipped
    (they already have a fire, or they are the scheduler's), the first and last (UTC)."""

    total: int
    planned: int
    skipped: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class BackfillTime:
    """One fire time of a backfill: its state (``planned``, ``released``, ``skipped``,
    ``failed``, ``cancelled``), the reason, and the job and its status once released."""

    scheduled_time: datetime
    state: str
    reason: str | None
    job_id: str | None
    job_status: str | None


def create_backfill(
    session: Session,
    caller: Caller,
    definition_id: str,
    request: BackfillRequest,
    now: datetime,
    *,
    app_settings: Settings | None = None,
) -> Backfill:
    """Plan and store a backfill of the caller's definition; its first jobs are created."""
    definition = definitions.get_definition(session, caller, definition_id)
    plan = _plan(session, caller, definition, request, now, app_settings=app_settings)
    backfill = Backfill(
        org_id=caller.org_id,
        definition_id=definition.id,
        start_time=request.start,
        end_time=request.end,
        max_concurrent=request.max_concurrent,
        rerun=request.rerun,
        status="running",
        total=len(plan),
        created_by=caller.user_id,
        created=now,
    )
    session.add(backfill)
    session.flush()
    session.execute(
        insert(BackfillFire),
        [
            {
                "backfill_id": backfill.id,
                "scheduled_time": item.scheduled_time,
                "state": item.state,
                "reason": item.reason,
            }
            for item in plan
        ],
    )
    backfill_release.release(session, backfill, now, app_settings=app_settings)
    return backfill


def preview_backfill(
    session: Session,
    caller: Caller,
    definition_id: str,
    request: BackfillRequest,
    now: datetime,
    *,
    app_settings: Settings | None = None,
) -> BackfillPreview:
    """What ``create_backfill`` would plan for ``request``, after the same checks (the same
    ``InvalidInput``, by field); nothing is stored."""
    definition = definitions.get_definition(session, caller, definition_id)
    plan = _plan(session, caller, definition, request, now, app_settings=app_settings)
    planned = [item.scheduled_time for item in plan if item.state == "planned"]
    return BackfillPreview(
        total=len(plan),
        planned=len(planned),
        skipped=len(plan) - len(planned),
        first=plan[0].scheduled_time,
        last=plan[-1].scheduled_time,
    )


def _plan(
    session: Session,
    caller: Caller,
    definition: JobDefinition,
    request: BackfillRequest,
    now: datetime,
    *,
    app_settings: Settings | None,
) -> list[PlannedTime]:
    _check_request(request, now)
    if definition.schedule is None:
        raise InvalidInput.at(
            "schedule", "the definition has no schedule: a backfill runs its schedule's times"
        )
    if definition.job_spec["intakeSettings"]["type"] == "localFile":
        raise InvalidInput.at(
            "intakeSettings.type",
            "a definition with a localFile intake cannot be backfilled: no one uploads its files",
        )
    jobs.validate_job_spec(session, caller, definition.job_spec, app_settings=app_settings)
    try:
        times = fire_times_between(parse_schedule(definition.schedule), request.start, request.end)
    except TooManyFireTimes:
        raise InvalidInput.at(
            "end",
            f"the range holds more than {MAX_BACKFILL_FIRES} fire times of the schedule; "
            "split it into several backfills",
        ) from None
    if not times:
        raise InvalidInput.at("end", "no fire time of the schedule falls in [start, end)")
    fired = session.scalars(
        select(ScheduleFire.scheduled_time).where(
            ScheduleFire.definition_id == definition.id,
            ScheduleFire.scheduled_time >= times[0],
            ScheduleFire.scheduled_time <= times[-1],
        )
    ).all()
    scheduler_from = definition.next_scheduled_run_time if definition.enabled else None
    return plan_backfill(times, fired, rerun=request.rerun, scheduler_from=scheduler_from)


def get_backfill(
    session: Session, caller: Caller, definition_id: str, backfill_id: str
) -> Backfill:
    """The caller's backfill of that definition, or ``NotFound``."""
    definition = definitions.get_definition(session, caller, definition_id)
    return in_org(
        session, Backfill, caller.org_id, backfill_id, Backfill.definition_id == definition.id
    )


def list_backfills(
    session: Session, caller: Caller, definition_id: str, *, offset: int, limit: int
) -> tuple[list[Backfill], int]:
    """One page of the definition's backfills, newest first, and how many there are."""
    definition = definitions.get_definition(session, caller, definition_id)
    mine = Backfill.definition_id == definition.id
    return org_page(session, Backfill, caller.org_id, mine, offset=offset, limit=limit)


def progress_of(session: Session, backfills: list[Backfill]) -> dict[str, Progress]:
    """Each backfill's progress, by id (one grouped query for all)."""
    result = {backfill.id: Progress() for backfill in backfills}
    if not result:
        return result
    job_status = _job_status()
    rows = session.execute(
        select(BackfillFire.backfill_id, BackfillFire.state, job_status, func.count())
        .outerjoin(Job, Job.id == BackfillFire.job_id)
        .where(BackfillFire.backfill_id.in_(list(result)))
        .group_by(BackfillFire.backfill_id, BackfillFire.state, job_status)
    ).all()
    for backfill_id, state, status, count in rows:
        progress = result[backfill_id]
        progress.total += count
        name = _progress_key(state, status)
        setattr(progress, name, getattr(progress, name) + count)
    return result


def backfill_times(
    session: Session,
    caller: Caller,
    definition_id: str,
    backfill_id: str,
    *,
    offset: int,
    limit: int,
) -> tuple[list[BackfillTime], int]:
    """One page of the caller's backfill's fire times, oldest first, and how many there are."""
    backfill = get_backfill(session, caller, definition_id, backfill_id)
    rows = session.execute(
        select(BackfillFire, _job_status())
        .outerjoin(Job, Job.id == BackfillFire.job_id)
        .where(BackfillFire.backfill_id == backfill.id)
        .order_by(BackfillFire.scheduled_time)
        .offset(offset)
        .limit(limit)
    ).all()
    page = [
        BackfillTime(fire.scheduled_time, fire.state, fire.reason, fire.job_id, status)
        for fire, status in rows
    ]
    return page, backfill.total


def cancel_backfill(
    session: Session, caller: Caller, definition_id: str, backfill_id: str, now: datetime
) -> Backfill:
    """Cancel the rest of a running backfill (see the module docstring); ``Conflict`` when it
    has completed. Cancelling a cancelled backfill changes nothing."""
    backfill = get_backfill(session, caller, definition_id, backfill_id)
    if backfill.status == "completed":
        raise Conflict(
            f"backfill {backfill.id} has completed and cannot be cancelled",
            {"status": backfill.status},
        )
    if backfill.status == "cancelled":
        return backfill
    reason = f"the backfill was cancelled by {caller.username}"
    backfill_release.cancel(session, caller, backfill, now, reason)
    return backfill


def _check_request(request: BackfillRequest, now: datetime) -> None:
    if request.end <= request.start:
        raise InvalidInput.at("end", "must be later than start")
    if request.end > now:
        raise InvalidInput.at(
            "end", "must not be in the future: fire times still to come are the scheduler's"
        )
    if not 1 <= request.max_concurrent <= MAX_CONCURRENT:
        raise InvalidInput.at("maxConcurrent", f"must be an integer from 1 to {MAX_CONCURRENT}")


def _job_status() -> ColumnElement[str | None]:
    """A released time's job status: the final one recorded on its row, else the job's own."""
    return func.coalesce(BackfillFire.job_status, Job.status)


def _progress_key(state: str, status: str | None) -> str:
    if state != "released":
        return {"failed": "failed"}.get(state, state)
    return {
        "INITIALIZING": "waiting",
        "RUNNING": "running",
        "COMPLETED": "done",
        "ABORTED": "aborted",
    }.get(status or "", "failed")  # FAILED, or a job pruned before its outcome was recorded
