"""Writing one batch of fires (``service.firing``): the firing plan of every due definition
of the batch turned into jobs, their first log lines, fire rows and the definitions' next-fire
and last-run fields, with a few bulk statements whatever the batch's size; ``cancelRunning``'s
aborts; the skipped and missed fires' events. See ``service.firing`` for the contracts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, and_, func, insert, select, true, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from scorecast.domain.definition_policies import DefinitionPolicies, policies_from_stored
from scorecast.domain.events import Event, EventType
from scorecast.domain.job_statuses import ACTIVE_STATUSES, JobStatus
from scorecast.domain.run_policies import REPLACED
from scorecast.domain.schedule import Schedule, parse_schedule
from scorecast.domain.schedule.firing_plan import (
    ActiveRun,
    FireState,
    FiringPlan,
    PlannedFire,
    jitter_offset,
    jittered,
    lone_start,
    plan_fires,
)
from scorecast.domain.schedule.outcomes import FireOutcome
from scorecast.errors import ScorecastError
from scorecast.service import fire_reasons, job_checks
from scorecast.service.due_batch import DueGroup
from scorecast.service.events import emit
from scorecast.service.fire_reasons import Outage
from scorecast.service.job_events import emit_job_end
from scorecast.service.jobs import BACKFILL_SOURCE
from scorecast.service.thread_turns import give_way
from scorecast.store.id_lists import among, id_array
from scorecast.store.models import (
    Base,
    Deployment,
    Job,
    JobDefinition,
    JobLog,
    ScheduleFire,
    User,
)
from scorecast.store.planner_hints import planner_avoids
from scorecast.store.scheduled_jobs import StartedRuns, insert_started_runs
from scorecast.store.types import new_id


class Fire(NamedTuple):
    """What happened to one scheduled time (``outcome``: a ``FireOutcome``). A named tuple: a
    burst makes one per fire, and a tuple is made in half a frozen dataclass's time."""

    definition_id: str
    scheduled_time: datetime
    outcome: FireOutcome
    job_id: str | None = None
    reason: str | None = None
    lateness_seconds: float | None = None


@dataclass
class _Run:
    """A job the batch creates."""

    job_id: str
    fire: PlannedFire
    aborted_by: datetime | None = None


#: What a definition's plan depends on besides ``now`` and the liveness (the same for the whole
#: batch): (schedule text, policies text, next time, active runs, jitter offset). Definitions
#: due together with the same schedule and policies and no jitter share one plan.
_PlanKey = tuple[str, str | None, datetime, tuple[ActiveRun, ...], timedelta]


class BatchWriter:
    """Decides each definition of a batch, then writes every row of the batch at once.

    ``start_group`` takes a group of plain definitions that share their decision
    (``service.due_batch.DueGroup``) by their ids alone; ``plan`` decides due rows
    (``service.due_batch.DUE_COLUMNS``) one by one: they carry the schedule and policies as JSON
    text and a few fields of the spec, and the whole spec is loaded only of the definitions
    whose jobs are written row by row here (not the common case of one started job each)."""

    def __init__(self, session: Session, now: datetime, outage: Outage | None) -> None:
        self.session = session
        self.now = now
        self.outage = outage
        self.active: dict[str, list[ActiveRun]] = {}
        self.recorded: set[tuple[str, datetime]] = set()
        self.owners: dict[str, tuple[str, str]] = {}
        self.deployments: set[tuple[str, str]] = set()
        self.fires: list[Fire] = []
        self.jobs: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.fire_rows: list[dict[str, Any]] = []
        self.definitions: list[dict[str, Any]] = []
        #: the definition updates of whole groups (``start_group``): (values, ids)
        self.group_updates: list[tuple[dict[str, Any], list[str]]] = []
        self.cancel: list[tuple[str, str]] = []  # (job id, reason)
        #: definitions starting one job alone, by (scheduled time, lateness, localFile intake)
        self.started: dict[tuple[datetime, float, bool], list[str]] = defaultdict(list)
        #: the stored specs of the definitions that need them (``plan`` loads them)
        self.specs: dict[str, dict[str, Any]] = {}
        # definitions share a few schedules and policies: each distinct one is parsed once,
        # and each distinct decision (``_PlanKey``) is made once
        self._schedules: dict[str, Schedule | None] = {}
        self._parsed_policies: dict[str | None, DefinitionPolicies] = {}
        self._plans: dict[_PlanKey, FiringPlan] = {}

    def _schedule(self, text: str | None) -> Schedule | None:
        key = text or "null"
        if key not in self._schedules:
            wire = json.loads(key)
            self._schedules[key] = None if wire is None else parse_schedule(wire)
        return self._schedules[key]

    def _policies(self, text: str | None) -> DefinitionPolicies:
        if text not in self._parsed_policies:
            self._parsed_policies[text] = policies_from_stored(json.loads(text or "null"))
        return self._parsed_policies[text]

    def start_group(self, group: DueGroup, since: datetime | None) -> bool:
        """Start one job for each definition of ``group`` when the group is plain and its
        shared decision starts one job and does nothing else (no jitter: each definition's
        offset would make its own decision); False, with nothing done, when its definitions
        must be decided one by one (``plan``). The rows are written by ``write``."""
        if not group.plain:
            return False
        schedule = self._schedule(group.schedule_text)
        policies = self._policies(group.policies_text)
        if schedule is None or policies.jitter_seconds > 0:
            return False
        state = FireState(
            definition_id="",
            schedule=schedule,
            next_time=group.next_time,
            overlap=policies.overlap_policy,
            catch_up=policies.catch_up,
        )
        plan = plan_fires(state, self.now, since)
        fire = lone_start(plan)
        if fire is None:
            return False
        values: dict[str, Any] = {
            "next_scheduled_run_time": plan.next_time,
            "next_due_at": None,
        }
        self._start_together(group.definition_ids, fire, group.intake_type, values)
        self.group_updates.append((values, group.definition_ids))
        return True

    def plan(self, due: Sequence[Row[Any]], since: datetime | None) -> None:
        """Decide each definition of ``due``; the rows are written by ``write``."""
        if not due:
            return
        ids = [row.id for row in due]
        self.active = _active_runs(self.session, ids)
        earliest = min(row.next_scheduled_run_time for row in due)
        self.recorded = _recorded_times(self.session, ids, earliest)
        self.owners = _owners(self.session, due)
        self.deployments = _deployments(self.session, due)
        decided: list[tuple[Row[Any], FiringPlan, DefinitionPolicies, dict[str, Any]]] = []
        for number, row in enumerate(due):
            give_way(number)  # the API's threads may share this interpreter
            update_values: dict[str, Any] = {"id": row.id}
            self.definitions.append(update_values)
            schedule = self._schedule(row.schedule_text)
            if schedule is None:
                update_values["next_scheduled_run_time"] = update_values["next_due_at"] = None
                continue
            policies = self._policies(row.policies_text)
            plan = self._plan(row, schedule, policies, since)
            update_values["next_scheduled_run_time"] = plan.next_time
            update_values["next_due_at"] = jittered(row.id, plan.next_time, policies.jitter_seconds)
            decided.append((row, plan, policies, update_values))
        self.specs = _specs(
            self.session,
            [row.id for row, plan, _, _ in decided if self._needs_spec(row, plan)],
        )
        for number, (row, plan, policies, update_values) in enumerate(decided):
            give_way(number)
            self._record(row, plan, policies, update_values)

    def _plan(
        self,
        row: Row[Any],
        schedule: Schedule,
        policies: DefinitionPolicies,
        since: datetime | None,
    ) -> FiringPlan:
        active = tuple(self.active.get(row.id, ()))
        jitter = jitter_offset(row.id, policies.jitter_seconds)
        key: _PlanKey = (
            row.schedule_text,
            row.policies_text,
            row.next_scheduled_run_time,
            active,
            jitter,
        )
        shared = self._plans.get(key)
        if shared is None:
            state = FireState(
                definition_id=row.id,
                schedule=schedule,
                next_time=row.next_scheduled_run_time,
                overlap=policies.overlap_policy,
                catch_up=policies.catch_up,
                active=active,
                jitter=jitter,
            )
            shared = self._plans[key] = plan_fires(state, self.now, since)
        if shared.definition_id == row.id:
            return shared
        return FiringPlan(row.id, shared.fires, shared.summary, shared.next_time)

    def _needs_spec(self, row: Row[Any], plan: FiringPlan) -> bool:
        """Whether recording ``plan`` reads the definition's whole spec: a run whose references
        are checked, or whose job is written row by row."""
        if not any(f.runs for f in plan.fires) or row.id not in self.owners:
            return False
        return bool(row.has_references) or not self._started_alone(row, plan)

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
            self._start_together([row.id], plan.fires[0], row.intake_type, update_values)
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
        """The common case: the plan starts one job and does nothing else, and the
        definition's last editor acts for it."""
        fire = lone_start(plan)
        return (
            fire is not None
            and (row.id, fire.scheduled_time) not in self.recorded
            and self.owners[row.id][0] == row.updated_by
        )

    def _start_together(
        self,
        definition_ids: list[str],
        fire: PlannedFire,
        intake_type: str | None,
        update_values: dict[str, Any],
    ) -> None:
        """Leave the jobs, logs and fire rows to one set-based write per (time, kind) group."""
        local = intake_type == "localFile"
        lateness = max(fire.lateness.total_seconds(), 0.0)
        self.started[(fire.scheduled_time, lateness, local)] += definition_ids
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
        deployment_id = row.spec_deployment_id
        if (row.org_id, deployment_id) not in self.deployments:
            return f"deployment {deployment_id!r} not found"
        if row.has_references:
            try:
                job_checks.check_references(self.session, row.org_id, self.specs[row.id])
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
        spec = self.specs[row.id]
        created = self.now + timedelta(microseconds=order)
        local_intake = row.intake_type == "localFile"
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
                "deployment_id": spec["deploymentId"],
                "definition_id": row.id,
                "spec": spec,
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
        statements for the rest, and one update per distinct set of definition values.

        The started jobs of the batch are written oldest scheduled time first: they share their
        creation time, so workers claim them in the order of their ids, which each write numbers
        after the last one's."""
        for (moment, lateness, local), definition_ids in sorted(
            self.started.items(), key=lambda item: item[0][0]
        ):
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
            with planner_avoids(self.session, "seqscan"):  # the definitions, by id
                made = insert_started_runs(self.session, runs, self.now)
            started = FireOutcome.STARTED
            self.fires += [Fire(d, moment, started, job, None, lateness) for d, job in made]
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
        updates = _by_values(self.definitions)
        for group_values, group_ids in self.group_updates:
            updates[_values_key(group_values)] += group_ids
        with planner_avoids(self.session, "seqscan"):  # the definitions, by id
            for values, definition_ids in updates.items():
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
        groups[_values_key(values)].append(values["id"])
    return groups


def _values_key(values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, v) for k, v in values.items() if k != "id"))


def _active_runs(session: Session, definition_ids: list[str]) -> dict[str, list[ActiveRun]]:
    """Each definition's live runs that wait or run, oldest first: what its overlap policy
    decides against. A backfill's jobs are not among them (its ``maxConcurrent`` bounds them):
    they neither skip, queue nor get cancelled by the scheduler's fires."""
    active: dict[str, list[ActiveRun]] = defaultdict(list)
    query: Executable = (
        select(Job.id, Job.definition_id, Job.status)
        .where(
            among(session, Job.definition_id, definition_ids),
            Job.status.in_(ACTIVE_STATUSES),
            Job.source != BACKFILL_SOURCE,
        )
        .order_by(Job.created, Job.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = _active_runs_by_definition(definition_ids)
    rows = session.execute(query)
    for job_id, definition_id, status in rows:
        if definition_id is not None:
            active[definition_id].append(ActiveRun(job_id, status))
    return active


def _active_runs_by_definition(definition_ids: list[str]) -> Executable:
    """PostgreSQL: the active runs read definition by definition through the index on
    (definition, status). Planned as one query, PostgreSQL reads every waiting job through the
    claim index whenever its statistics say few jobs wait: during a burst of fires they are
    the burst's own jobs, 100,000 of them. ``OFFSET 0`` keeps the per-definition subquery a
    subquery (a nested loop over the ids) instead of a join planned from the statistics."""
    ids = id_array(definition_ids)
    wanted = func.unnest(ids).table_valued("id").render_derived(name="wanted")
    runs = (
        select(Job.id, Job.definition_id, Job.status, Job.created)
        .where(
            Job.definition_id == wanted.c.id,
            Job.status.in_(ACTIVE_STATUSES),
            Job.source != BACKFILL_SOURCE,
        )
        .offset(0)
        .lateral("runs")
    )
    return (
        select(runs.c.id, runs.c.definition_id, runs.c.status)
        .select_from(wanted)
        .join(runs, true())
        .order_by(runs.c.created, runs.c.id)
    )


def _recorded_times(
    session: Session, definition_ids: list[str], earliest: datetime
) -> set[tuple[str, datetime]]:
    with planner_avoids(session, "seqscan"):  # by the fire rows' unique key
        rows = session.execute(
            select(ScheduleFire.definition_id, ScheduleFire.scheduled_time).where(
                among(session, ScheduleFire.definition_id, definition_ids),
                ScheduleFire.scheduled_time >= earliest,
            )
        ).all()
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


def _specs(session: Session, definition_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not definition_ids:
        return {}
    rows = session.execute(
        select(JobDefinition.id, JobDefinition.job_spec).where(
            among(session, JobDefinition.id, definition_ids)
        )
    )
    return {definition_id: spec for definition_id, spec in rows}


def _deployments(session: Session, due: Iterable[Row[Any]]) -> set[tuple[str, str]]:
    wanted = {(row.org_id, row.spec_deployment_id) for row in due}
    rows = session.execute(
        select(Deployment.org_id, Deployment.id).where(
            among(session, Deployment.id, {d for _, d in wanted if d})
        )
    )
    return {(org_id, deployment_id) for org_id, deployment_id in rows}


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
