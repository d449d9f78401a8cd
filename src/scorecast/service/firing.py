"""Firing due job definitions, a batch at a time: one fire row per (definition, scheduled time).

Contracts of ``fire_due_definitions(session, now, limit=...)`` (one batch, the caller's
transaction; it flushes, never commits):

- Due = ``enabled`` and ``next_scheduled_run_time <= now``, read through the index
  ``(enabled, next_scheduled_run_time, id)`` in that order, at most ``limit`` definitions. On
  PostgreSQL they are locked ``FOR UPDATE SKIP LOCKED``, so concurrent schedulers split the due
  set instead of racing for it; on SQLite the caller holds the write lock.
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

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import Table, and_, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from scorecast.domain.definition_policies import DefinitionPolicies, policies_from_stored
from scorecast.domain.events import Event, EventType
from scorecast.domain.job_statuses import JobStatus
from scorecast.domain.run_policies import REPLACED
from scorecast.domain.schedule import Schedule, parse_schedule
from scorecast.domain.schedule.firing_plan import (
    ActiveRun,
    FireState,
    FiringPlan,
    PlannedFire,
    jitter_offset,
    jittered,
    plan_fires,
)
from scorecast.domain.schedule.liveness import AliveSpan
from scorecast.domain.schedule.outcomes import FireOutcome
from scorecast.errors import ScorecastError
from scorecast.service import fire_reasons, job_checks, run_outcomes
from scorecast.service.events import emit
from scorecast.service.fire_reasons import Outage
from scorecast.service.job_events import emit_job_end
from scorecast.service.scheduler_liveness import store_alive_since
from scorecast.store.id_lists import among
from scorecast.store.models import (
    Base,
    Deployment,
    Job,
    JobDefinition,
    JobLog,
    ScheduleFire,
    User,
)
from scorecast.store.scheduled_jobs import StartedRuns, insert_started_runs
from scorecast.store.types import new_id

__all__ = ["Fire", "Outage", "fire_batch", "fire_due_definitions", "fire_history", "next_due_time"]

ACTIVE_STATUSES: Final = (JobStatus.INITIALIZING.value, JobStatus.RUNNING.value)


@dataclass(frozen=True)
class Fire:
    """What happened to one scheduled time (``outcome``: a ``FireOutcome``)."""

    definition_id: str
    scheduled_time: datetime
    outcome: FireOutcome
    job_id: str | None = None
    reason: str | None = None
    lateness_seconds: float | None = None


@dataclass(frozen=True)
class BatchResult:
    """One batch: how many due definitions it handled, and what happened to their times."""

    handled: int
    fires: list[Fire]


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
) -> BatchResult:
    """``fire_due_definitions`` that also says how many definitions the batch handled."""
    due = _due(session, now, limit)
    if not due:
        return BatchResult(0, [])
    since = store_alive_since(session, now, own_span)
    writer = _BatchWriter(session, now, outage, due)
    for row in due:
        writer.plan(row, since)
    writer.write()
    _count_failed_fires(session, now, writer.fires)
    return BatchResult(len(due), writer.fires)


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


_DUE_COLUMNS: Final = (
    JobDefinition.id,
    JobDefinition.org_id,
    JobDefinition.schedule,
    JobDefinition.job_spec,
    JobDefinition.policies,
    JobDefinition.next_scheduled_run_time,
    JobDefinition.updated_by,
    JobDefinition.created_by,
)


def _due(session: Session, now: datetime, limit: int) -> Sequence[Row[Any]]:
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
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=JobDefinition, skip_locked=True)
    return session.execute(query).all()


@dataclass
class _Run:
    """A job the batch creates."""

    job_id: str
    fire: PlannedFire
    aborted_by: datetime | None = None


class _BatchWriter:
    """Plans each definition of a batch, then writes every row of the batch at once."""

    def __init__(
        self, session: Session, now: datetime, outage: Outage | None, due: Sequence[Row[Any]]
    ) -> None:
        self.session = session
        self.now = now
        self.outage = outage
        ids = [row.id for row in due]
        self.active = _active_runs(session, ids)
        self.recorded = _recorded_times(session, ids, min(r.next_scheduled_run_time for r in due))
        self.owners = _owners(session, due)
        self.deployments = _deployments(session, due)
        self.fires: list[Fire] = []
        self.jobs: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.fire_rows: list[dict[str, Any]] = []
        self.definitions: list[dict[str, Any]] = []
        self.cancel: list[tuple[str, str]] = []  # (job id, reason)
        #: definitions starting one job alone, by (scheduled time, lateness, localFile intake)
        self.started: dict[tuple[datetime, float, bool], list[str]] = defaultdict(list)
        # definitions share a few schedules and policies: each distinct one is parsed once
        self._schedules: dict[str, Schedule] = {}
        self._parsed_policies: dict[str, DefinitionPolicies] = {}

    def _schedule(self, wire: Mapping[str, Any]) -> Schedule:
        key = json.dumps(wire, sort_keys=True)
        if key not in self._schedules:
            self._schedules[key] = parse_schedule(wire)
        return self._schedules[key]

    def _policies(self, wire: Mapping[str, Any] | None) -> DefinitionPolicies:
        key = json.dumps(wire, sort_keys=True)
        if key not in self._parsed_policies:
            self._parsed_policies[key] = policies_from_stored(wire)
        return self._parsed_policies[key]

    def plan(self, row: Row[Any], since: datetime | None) -> None:
        update_values: dict[str, Any] = {"id": row.id}
        self.definitions.append(update_values)
        if row.schedule is None:
            update_values["next_scheduled_run_time"] = update_values["next_due_at"] = None
            return
        policies = self._policies(row.policies)
        state = FireState(
            definition_id=row.id,
            schedule=self._schedule(row.schedule),
            next_time=row.next_scheduled_run_time,
            overlap=policies.overlap_policy,
            catch_up=policies.catch_up,
            active=tuple(self.active.get(row.id, ())),
            jitter=jitter_offset(row.id, policies.jitter_seconds),
        )
        plan = plan_fires(state, self.now, since)
        update_values["next_scheduled_run_time"] = plan.next_time
        update_values["next_due_at"] = jittered(row.id, plan.next_time, policies.jitter_seconds)
        self._record(row, plan, policies, update_values)

    def _record(
        self,
        row: Row[Any],
        plan: FiringPlan,
        policies: DefinitionPolicies,
        update_values: dict[str, Any],
    ) -> None:
        if plan.summary is not None:
            reason = fire_reasons.summary(plan.summary, self.outage)
            self._fire(row, plan.summary.first, FireOutcome.MISSED, reason=reason)
        problem = self._problem(row) if any(f.runs for f in plan.fires) else None
        if problem is None and self._started_alone(row, plan):
            self._start_with_others(row, plan.fires[0], update_values)
            return
        runs: dict[datetime, _Run] = {}
        for fire in plan.fires:
            if (row.id, fire.scheduled_time) in self.recorded:
                continue  # another scheduler recorded this time first: its row stands
            if fire.outcome is FireOutcome.MISSED:
                reason = fire_reasons.missed(fire, policies.catch_up, self.outage)
                self._fire(row, fire.scheduled_time, fire.outcome, reason=reason)
            elif fire.outcome is FireOutcome.SKIPPED:
                self._fire(
                    row, fire.scheduled_time, fire.outcome, reason=fire_reasons.skipped(fire)
                )
            elif problem is not None:
                update_values["last_failed_run_time"] = self.now
                self._fire(row, fire.scheduled_time, FireOutcome.FAILED, reason=problem)
            else:
                runs[fire.scheduled_time] = self._run(row, fire, runs, update_values)
        for order, run in enumerate(runs.values()):
            self._job(row, run, order)

    def _started_alone(self, row: Row[Any], plan: FiringPlan) -> bool:
        """The common case: the plan starts one job and does nothing else."""
        if plan.summary is not None or len(plan.fires) != 1:
            return False
        fire = plan.fires[0]
        return (
            fire.outcome is FireOutcome.STARTED
            and not fire.cancels_jobs
            and not fire.cancels_times
            and (row.id, fire.scheduled_time) not in self.recorded
            and self.owners[row.id][0] == row.updated_by
        )

    def _start_with_others(
        self, row: Row[Any], fire: PlannedFire, update_values: dict[str, Any]
    ) -> None:
        """Leave the job, log and fire row to one set-based write per (time, kind) group."""
        local = row.job_spec["intakeSettings"]["type"] == "localFile"
        lateness = max(fire.lateness.total_seconds(), 0.0)
        self.started[(fire.scheduled_time, lateness, local)].append(row.id)
        update_values["last_scheduled_run_time"] = fire.scheduled_time
        update_values["last_started_job_status"] = JobStatus.INITIALIZING.value
        update_values["last_started_job_time"] = self.now

    def _run(
        self,
        row: Row[Any],
        fire: PlannedFire,
        runs: Mapping[datetime, _Run],
        update_values: dict[str, Any],
    ) -> _Run:
        run = _Run(new_id(), fire)
        reason = None
        if fire.cancels_jobs:
            reason = fire_reasons.cancelled(list(fire.cancels_jobs))
            self.cancel += [
                (job_id, fire_reasons.stamp(fire.scheduled_time)) for job_id in fire.cancels_jobs
            ]
        for moment in fire.cancels_times:
            if moment in runs:
                runs[moment].aborted_by = fire.scheduled_time
                reason = fire_reasons.cancelled([runs[moment].job_id])
        lateness = max(fire.lateness.total_seconds(), 0.0)
        self._fire(
            row,
            fire.scheduled_time,
            fire.outcome,
            job_id=run.job_id,
            reason=reason,
            lateness=lateness,
        )
        update_values["last_scheduled_run_time"] = fire.scheduled_time
        update_values["last_started_job_status"] = JobStatus.INITIALIZING.value
        update_values["last_started_job_time"] = self.now
        return run

    def _problem(self, row: Row[Any]) -> str | None:
        """Why a job of this definition cannot be created now (a deleted reference), or None."""
        if row.id not in self.owners:
            return f"the owner of job definition {row.id} no longer exists"
        deployment_id = row.job_spec.get("deploymentId")
        if (row.org_id, deployment_id) not in self.deployments:
            return f"deployment {deployment_id!r} not found"
        if _has_references(row.job_spec):
            try:
                job_checks.check_references(self.session, row.org_id, row.job_spec)
            except ScorecastError as exc:
                return exc.message
        return None

    def _fire(
        self,
        row: Row[Any],
        moment: datetime,
        outcome: FireOutcome,
        *,
        job_id: str | None = None,
        reason: str | None = None,
        lateness: float | None = None,
    ) -> None:
        self.fire_rows.append(
            {
                "definition_id": row.id,
                "scheduled_time": moment,
                "fired_at": self.now,
                "outcome": outcome.value,
                "reason": reason,
                "job_id": job_id,
                "lateness_seconds": lateness,
            }
        )
        self.fires.append(Fire(row.id, moment, outcome, job_id, reason, lateness))
        event = {FireOutcome.SKIPPED: EventType.SKIPPED, FireOutcome.MISSED: EventType.MISSED}
        if outcome in event:
            emit(
                self.session,
                Event(event[outcome], row.org_id, row.id, scheduled_time=moment, reason=reason),
            )

    def _job(self, row: Row[Any], run: _Run, order: int) -> None:
        """Add the job of ``run``, the ``order``-th run of its plan: workers claim jobs by
        (``created``, id), so each run of a plan is created a microsecond after the one before
        and a catch-up's runs start oldest first."""
        owner = self.owners[row.id]
        created = self.now + timedelta(microseconds=order)
        local_intake = row.job_spec["intakeSettings"]["type"] == "localFile"
        submitted = f"Job submitted at {_log_time(self.now)}"
        details = (
            f"{submitted}; waiting for the upload of the input file" if local_intake else submitted
        )
        if run.fire.outcome is FireOutcome.QUEUED:
            details = f"{submitted}; queued behind the definition's active run"
        aborted = run.aborted_by is not None
        if run.aborted_by is not None:
            details = (
                f"Job aborted at {_log_time(self.now)}: the fire of "
                f"{fire_reasons.stamp(run.aborted_by)} replaced it (overlap policy cancelRunning)"
            )
        self.jobs.append(
            {
                "id": run.job_id,
                "org_id": row.org_id,
                "deployment_id": row.job_spec["deploymentId"],
                "definition_id": row.id,
                "spec": row.job_spec,
                "source": "scheduled",
                "status": JobStatus.ABORTED.value if aborted else JobStatus.INITIALIZING.value,
                "status_details": details,
                "queued": not aborted,
                "abort_requested": aborted,
                "abort_reason": REPLACED if aborted else None,
                "intake_ready": not local_intake,
                "scheduled_time": run.fire.scheduled_time,
                "created_by": owner[0],
                "created": created,
                "finished": created if aborted else None,
                "percentage_completed": 0.0,
                "after_previous": run.fire.outcome is FireOutcome.QUEUED,
            }
        )
        message = f"Job created by {owner[1]} by the scheduler at {_log_time(self.now)}"
        self.logs.append({"job_id": run.job_id, "message": message, "created": self.now})
        if aborted:
            self.logs.append({"job_id": run.job_id, "message": details, "created": self.now})

    def write(self) -> None:
        """Every row of the batch: set-based writes for the common case, Core ``executemany``
        statements for the rest, and one update per distinct set of definition values."""
        for (moment, lateness, local), definition_ids in self.started.items():
            submitted = f"Job submitted at {_log_time(self.now)}"
            runs = StartedRuns(
                definition_ids=definition_ids,
                scheduled_time=moment,
                lateness_seconds=lateness,
                intake_ready=not local,
                status_details=(
                    f"{submitted}; waiting for the upload of the input file" if local else submitted
                ),
                log_time=_log_time(self.now),
            )
            made = insert_started_runs(self.session, runs, self.now)
            self.fires += [
                Fire(d, moment, FireOutcome.STARTED, made.get(d), None, lateness)
                for d in definition_ids
            ]
        connection = self.session.connection()
        if self.jobs:
            connection.execute(insert(_table(Job)), self.jobs)
            for job_values in self.jobs:
                if job_values["status"] != JobStatus.ABORTED.value:
                    continue
                replaced = self.session.get(Job, job_values["id"])  # by a later run of its plan
                if replaced is not None:
                    emit_job_end(self.session, replaced)
        if self.logs:
            connection.execute(insert(_table(JobLog)), self.logs)
        if self.fire_rows:
            connection.execute(insert(_table(ScheduleFire)), self.fire_rows)
        if self.cancel:
            _cancel(self.session, self.cancel, self.now)
        for values, definition_ids in _by_values(self.definitions).items():
            connection.execute(
                update(_table(JobDefinition))
                .where(among(self.session, JobDefinition.id, definition_ids))
                .values(dict(values))
            )


def _table(model: type[Base]) -> Table:
    return cast("Table", model.__table__)


def _by_values(
    rows: list[dict[str, Any]],
) -> dict[tuple[tuple[str, Any], ...], list[str]]:
    """The definitions' updates grouped by the values they set (one statement per group: the
    definitions due together share their next time and last-run fields)."""
    groups: dict[tuple[tuple[str, Any], ...], list[str]] = defaultdict(list)
    for values in rows:
        key = tuple(sorted((k, v) for k, v in values.items() if k != "id"))
        groups[key].append(values["id"])
    return groups


def _active_runs(session: Session, definition_ids: list[str]) -> dict[str, list[ActiveRun]]:
    active: dict[str, list[ActiveRun]] = defaultdict(list)
    rows = session.execute(
        select(Job.id, Job.definition_id, Job.status)
        .where(among(session, Job.definition_id, definition_ids), Job.status.in_(ACTIVE_STATUSES))
        .order_by(Job.created, Job.id)
    )
    for job_id, definition_id, status in rows:
        if definition_id is not None:
            active[definition_id].append(ActiveRun(job_id, status))
    return active


def _recorded_times(
    session: Session, definition_ids: list[str], earliest: datetime
) -> set[tuple[str, datetime]]:
    rows = session.execute(
        select(ScheduleFire.definition_id, ScheduleFire.scheduled_time).where(
            among(session, ScheduleFire.definition_id, definition_ids),
            ScheduleFire.scheduled_time >= earliest,
        )
    )
    return {(definition_id, moment) for definition_id, moment in rows}


def _owners(session: Session, due: Iterable[Row[Any]]) -> dict[str, tuple[str, str]]:
    """Each definition's acting user (the last one to change it): (user id, username)."""
    user_ids = {row.updated_by for row in due} | {row.created_by for row in due}
    users = dict(
        session.execute(
            select(User.id, User.username).where(among(session, User.id, user_ids))
        ).all()
    )
    owners: dict[str, tuple[str, str]] = {}
    for row in due:
        user_id = row.updated_by if row.updated_by in users else row.created_by
        if user_id in users:
            owners[row.id] = (user_id, users[user_id])
    return owners


def _deployments(session: Session, due: Iterable[Row[Any]]) -> set[tuple[str, str]]:
    wanted = {(row.org_id, row.job_spec.get("deploymentId")) for row in due}
    rows = session.execute(
        select(Deployment.org_id, Deployment.id).where(
            among(session, Deployment.id, {d for _, d in wanted if d})
        )
    )
    return {(org_id, deployment_id) for org_id, deployment_id in rows}


def _has_references(spec: Mapping[str, Any]) -> bool:
    keys = (*job_checks.CREDENTIAL_KEYS, "dataStoreId", "datasetId")
    return any(
        (spec.get(side) or {}).get(key) is not None
        for side in ("intakeSettings", "outputSettings")
        for key in keys
    )


def _cancel(session: Session, cancels: list[tuple[str, str]], now: datetime) -> None:
    """Abort the replaced runs: waiting ones at once (raising their ``FAILED`` event, as every
    job of a definition that ends does), running ones through their worker."""
    for job_id, fire_time in cancels:
        message = (
            f"Job aborted at {_log_time(now)}: the fire of {fire_time} replaced it "
            "(overlap policy cancelRunning)"
        )
        waiting = session.execute(
            update(Job)
            .where(and_(Job.id == job_id, Job.status == JobStatus.INITIALIZING.value))
            .values(
                status=JobStatus.ABORTED.value,
                status_details=message,
                abort_requested=True,
                abort_reason=REPLACED,
                queued=False,
                finished=now,
            )
            .execution_options(synchronize_session=False)
        )
        if waiting.rowcount == 1:  # type: ignore[attr-defined]
            ended = session.get(Job, job_id)
            if ended is not None:
                emit_job_end(session, ended)
        session.execute(  # a run already aborting (a user, a timeout) keeps its reason
            update(Job)
            .where(
                and_(
                    Job.id == job_id,
                    Job.status == JobStatus.RUNNING.value,
                    Job.abort_requested.is_(False),
                )
            )
            .values(abort_requested=True, abort_reason=REPLACED, status_details=message)
            .execution_options(synchronize_session=False)
        )
        session.execute(insert(JobLog).values(job_id=job_id, message=message, created=now))


def _log_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")
