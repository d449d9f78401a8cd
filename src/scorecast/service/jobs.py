"""Batch prediction jobs: submit, list, read, abort, copy, and run a definition once.

Every function works inside the caller's transaction (it flushes, never commits) and sees only
the caller's organization: another organization's job id is answered like an unknown one.

Lifecycle owned here: a new job is ``INITIALIZING`` and ``queued``; its ``intake_ready`` is false
for a ``localFile`` intake (the upload route sets it) and true otherwise. Workers (see
``service/claims.py``) move it to ``RUNNING`` and to a terminal status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, update
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.domain.job_spec import JobSpec
from scorecast.domain.job_statuses import (
    STATUSES,
    TERMINAL_STATUSES,
    shown_status,
    stored_statuses,
    wire_status,
)
from scorecast.errors import Conflict, InvalidInput, NotFound
from scorecast.service import accounts, job_checks
from scorecast.service.caller import Caller
from scorecast.service.job_events import emit_job_end
from scorecast.store.job_tallies import job_count
from scorecast.store.models import (
    Job,
    JobDefinition,
    JobLog,
    JobTally,
    User,
)
from scorecast.store.org_scope import in_org, oldest_first, org_rows_page
from scorecast.store.types import new_id, utcnow

#: ``source`` values: submitted through the API, run once from a definition, fired by the
#: scheduler, run by a backfill of the definition's schedule.
SOURCES: Final = ("api", "manual", "scheduled", "backfill")
#: the source of a backfill's jobs: bounded by the backfill's own ``maxConcurrent``, they are
#: not among the live runs that a definition's overlap policy weighs (``fire_writer``, ``claims``)
BACKFILL_SOURCE: Final = "backfill"
ORDERINGS: Final = {"created": True, "-created": False}


@dataclass(frozen=True)
class JobFilters:
    """The list filters of ``GET batchPredictions/`` (reference §6.6), all optional."""

    statuses: Sequence[str] = ()
    deployment_id: str | None = None
    job_id: str | None = None
    definition_id: str | None = None
    #: ``api`` includes, ``-api`` excludes (DataRobot's convention); values combine
    sources: Sequence[str] = ()
    intake_types: Sequence[str] = ()
    output_types: Sequence[str] = ()
    #: ``created >= created_after`` (``startDateTime``)
    created_after: datetime | None = None
    #: ``created < created_before``: the end of a range such as a day (the console's)
    created_before: datetime | None = None
    #: ``created <= created_until``: DataRobot's ``endDateTime``, "the latest time the job was
    #: added (inclusive)"
    created_until: datetime | None = None
    order_by: str = "-created"
    #: ``statuses`` match the stored status only (the console, which shows FAILED apart from
    #: ABORTED); else as the wire shows them (``ABORTED`` also finds the failed jobs)
    exact_statuses: bool = False


def validate_job_spec(
    session: Session, caller: Caller, raw: object, *, app_settings: Settings | None = None
) -> JobSpec:
    """The parsed spec, checked against the caller's organization and the deployment's model.

    ``app_settings`` (allowed file roots, private endpoints ...) reach the connector validators;
    None means ``Settings.from_env()``.

    Raises ``InvalidInput`` (bad fields, unsupported adapters, options the model cannot honour)
    or ``NotFound`` (``deploymentId`` unknown in the organization), each naming the field.
    """
    spec = JobSpec.from_wire(raw)
    deployment = job_checks.deployment_of(session, caller.org_id, spec.deployment_id)
    job_checks.check_references(session, caller.org_id, spec)
    job_checks.validate_adapters(spec, app_settings)
    job_checks.check_ambient_endpoints(session, caller.org_id, spec, app_settings)
    header = job_checks.known_header(session, caller.org_id, spec)
    job_checks.check_scoring_options(spec, deployment, header)
    return spec


def create_job(
    session: Session,
    caller: Caller,
    spec: object,
    source: str = "api",
    *,
    definition_id: str | None = None,
    scheduled_time: datetime | None = None,
    app_settings: Settings | None = None,
) -> Job:
    """Validate ``spec`` (camelCase, as sent) and insert a new queued job; flushes, no commit.

    ``source`` is one of ``SOURCES``; ``definition_id``/``scheduled_time`` tie a job to the
    definition (and the schedule fire) it came from.
    """
    effective = validate_job_spec(session, caller, spec, app_settings=app_settings)
    job = insert_job(
        session,
        caller,
        effective,
        source,
        definition_id=definition_id,
        scheduled_time=scheduled_time,
    )
    session.flush()
    return job


def insert_job(
    session: Session,
    caller: Caller,
    effective: JobSpec,
    source: str,
    *,
    definition_id: str | None = None,
    scheduled_time: datetime | None = None,
    job_id: str | None = None,
) -> Job:
    """Insert a queued job of a spec ``validate_job_spec`` answered, with its first log line
    (added, not flushed: the job is flushed, so its id is known). ``job_id``: an id chosen
    beforehand (``store.types.new_id``), else a new one.

    For callers that create many jobs of one spec (a backfill) and validate it once.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown job source {source!r}")
    now = utcnow()
    local_intake = effective.intake.type == "localFile"
    job = Job(
        id=job_id or new_id(),
        org_id=caller.org_id,
        deployment_id=effective.deployment_id,
        definition_id=definition_id,
        spec=effective.to_wire(),
        source=source,
        status="INITIALIZING",
        status_details=(
            f"Job submitted at {_log_time(now)}; waiting for the upload of the input file"
            if local_intake
            else f"Job submitted at {_log_time(now)}"
        ),
        queued=True,
        abort_requested=False,
        intake_ready=not local_intake,
        scheduled_time=scheduled_time,
        created_by=caller.user_id,
        created=now,
        percentage_completed=0.0,
    )
    session.add(job)
    session.flush()
    origin = {
        "api": "",
        "manual": " from a job definition",
        "scheduled": " by the scheduler",
        "backfill": " by a backfill of a job definition",
    }
    message = f"Job created by {caller.username}{origin[source]} at {_log_time(now)}"
    session.add(JobLog(job_id=job.id, message=message, created=now))
    return job


def get_job(session: Session, caller: Caller, job_id: str) -> Job:
    """The caller's job, or ``NotFound`` (also for another organization's id)."""
    return in_org(session, Job, caller.org_id, job_id)


def _check_kinds(filters: JobFilters) -> None:
    """Sources and intake/output types must be ones a job can have (a misspelled one matched
    nothing, or with ``-`` everything, without a word). DataRobot's types this server does not
    implement are accepted: no job has them."""
    from scorecast.connectors.registry import UNSUPPORTED_TYPES, connector_types

    for source in filters.sources:
        if source.removeprefix("-") not in SOURCES:
            valid = ", ".join(SOURCES)
            raise InvalidInput.at(
                "source", f"unknown source {source!r}; one of {valid} (a leading - excludes one)"
            )
    for field, known, kinds in (
        ("intakeType", connector_types("intake"), filters.intake_types),
        ("outputType", connector_types("output"), filters.output_types),
    ):
        for kind in kinds:
            if kind not in known and kind not in UNSUPPORTED_TYPES:
                raise InvalidInput.at(field, f"unknown type {kind!r}; one of {', '.join(known)}")


def list_jobs(
    session: Session,
    caller: Caller,
    filters: JobFilters,
    *,
    offset: int,
    limit: int,
    count_limit: int | None = None,
) -> tuple[list[Row[Any]], int]:
    """One page of the caller's jobs matching ``filters`` and the total count of matches.

    The jobs are read-only rows of every column of ``jobs`` (``service.job_views.JobFields``),
    not ORM objects: a page is shown, never changed.

    With ``count_limit``, the count stops there (a page that shows "more than N" need not
    count a million rows): the total is then at most ``count_limit``.
    """
    for status in filters.statuses:
        if status not in STATUSES:
            valid = ", ".join(STATUSES)
            raise InvalidInput.at("status", f"unknown status {status!r}; one of {valid}")
    _check_kinds(filters)
    if filters.order_by not in ORDERINGS:
        raise InvalidInput.at("orderBy", f"must be one of {', '.join(ORDERINGS)}")
    ascending = ORDERINGS[filters.order_by]
    conditions = _conditions(filters)
    return org_rows_page(
        session,
        Job,
        caller.org_id,
        *conditions,
        order_by=oldest_first(Job) if ascending else None,
        offset=offset,
        limit=limit,
        count_limit=count_limit,
        # filters on the tally's key only: the tally knows how many match without counting them
        counted_by=(
            (lambda: job_count(session, caller.org_id, *_key_conditions(filters, JobTally)))
            if _tallied(filters)
            else None
        ),
    )


def abort_job(session: Session, caller: Caller, job_id: str) -> Job:
    """Abort the caller's job.

    A job not yet claimed by a worker becomes ``ABORTED`` at once. A ``RUNNING`` job gets
    ``abort_requested``; its worker stops it and marks it ``ABORTED`` within seconds. A job
    already ``COMPLETED``/``ABORTED``/``FAILED`` cannot be aborted: ``Conflict`` (409).
    Aborting twice while the worker is stopping is harmless.
    """
    job = get_job(session, caller, job_id)
    if job.status in TERMINAL_STATUSES:
        raise Conflict(
            f"batch prediction job {job_id} is already {shown_status(job.status)} "
            "and cannot be aborted",
            {"status": wire_status(job.status)},
        )
    now = utcnow()
    message = f"Job aborted by {caller.username} at {_log_time(now)}"
    aborted_now = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "INITIALIZING")
        .values(
            status="ABORTED",
            status_details=message,
            abort_requested=True,
            queued=False,
            finished=now,
        )
        .execution_options(synchronize_session=False)
    )
    if aborted_now.rowcount == 1:  # type: ignore[attr-defined]
        add_log(session, job.id, message)
        _note_definition_status(session, job, "ABORTED", now)
    elif not job.abort_requested:
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == "RUNNING")
            .values(
                abort_requested=True,
                status_details=f"Abort requested by {caller.username} at {_log_time(now)}",
            )
            .execution_options(synchronize_session=False)
        )
        add_log(session, job.id, f"Abort requested by {caller.username} at {_log_time(now)}")
    session.flush()
    session.refresh(job)
    if aborted_now.rowcount == 1:  # type: ignore[attr-defined]
        emit_job_end(session, job)
    return job


def job_from_existing(
    session: Session, caller: Caller, job_id: str, *, app_settings: Settings | None = None
) -> Job:
    """A new job with the spec of the caller's job ``job_id`` (revalidated; credentials by id)."""
    source_job = get_job(session, caller, job_id)
    return create_job(session, caller, source_job.spec, "api", app_settings=app_settings)


def job_from_definition(
    session: Session,
    caller: Caller,
    definition_id: str,
    *,
    source: str = "manual",
    scheduled_time: datetime | None = None,
    app_settings: Settings | None = None,
) -> Job:
    """A new job from the caller's definition; records it as the definition's last started job.

    ``source`` is ``"manual"`` for ``fromJobDefinition`` and ``"scheduled"`` for the scheduler
    (which also passes the fire's ``scheduled_time``). Flushes, no commit.
    """
    definition = in_org(session, JobDefinition, caller.org_id, definition_id)
    job = create_job(
        session,
        caller,
        definition.job_spec,
        source,
        definition_id=definition.id,
        scheduled_time=scheduled_time,
        app_settings=app_settings,
    )
    definition.last_started_job_status = job.status
    definition.last_started_job_time = job.created
    session.flush()
    return job


def caller_for_definition(session: Session, definition: JobDefinition) -> Caller:
    """The caller a scheduled run acts as: the user who last changed the definition."""
    user = session.get(User, definition.updated_by) or session.get(User, definition.created_by)
    if user is None:
        raise NotFound(f"the owner of job definition {definition.id} no longer exists")
    return accounts.caller_of(user, definition.org_id)


def add_log(session: Session, job_id: str, message: str) -> None:
    """Append one line to a job's ``logs``."""
    session.add(JobLog(job_id=job_id, message=message, created=utcnow()))
    session.flush()


def _conditions(filters: JobFilters) -> list[ColumnElement[bool]]:
    wanted: list[ColumnElement[bool]] = []
    if filters.statuses:  # ABORTED also finds the failed jobs the wire shows ABORTED
        matched = stored_statuses(filters.statuses)
        if filters.exact_statuses:
            matched = frozenset(filters.statuses)
        wanted.append(Job.status.in_(sorted(matched)))
    if filters.job_id is not None:
        wanted.append(Job.id == filters.job_id)
    if filters.definition_id is not None:
        wanted.append(Job.definition_id == filters.definition_id)
    wanted.extend(_key_conditions(filters, Job))
    if filters.created_after is not None:
        wanted.append(Job.created >= filters.created_after)
    if filters.created_before is not None:
        wanted.append(Job.created < filters.created_before)
    if filters.created_until is not None:
        wanted.append(Job.created <= filters.created_until)
    return wanted


#: the filters on a job's tally key (``store.job_tallies``), and the order, which counts nothing
_TALLIED_FILTERS = frozenset(
    # exact_statuses matters only with statuses, which the tally does not count
    {"deployment_id", "sources", "intake_types", "output_types", "order_by", "exact_statuses"}
)


def _key_conditions(
    filters: JobFilters, model: type[Job] | type[JobTally]
) -> list[ColumnElement[bool]]:
    """The filters on the columns of a job's tally key, on the jobs or on their tally rows."""
    wanted: list[ColumnElement[bool]] = []
    if filters.deployment_id is not None:
        wanted.append(model.deployment_id == filters.deployment_id)
    included = [s for s in filters.sources if not s.startswith("-")]
    excluded = [s[1:] for s in filters.sources if s.startswith("-")]
    if included:  # DataRobot's convention: "-api" excludes, "api" includes
        wanted.append(model.source.in_(included))
    if excluded:
        wanted.append(model.source.not_in(excluded))
    if filters.intake_types:  # indexed generated columns (store/models.py)
        wanted.append(model.intake_type.in_(list(filters.intake_types)))
    if filters.output_types:
        wanted.append(model.output_type.in_(list(filters.output_types)))
    return wanted


def _tallied(filters: JobFilters) -> bool:
    """Whether the tally counts the jobs matching ``filters``: no filter but on its key (a
    filter added to ``JobFilters`` later counts the jobs until it is named here)."""
    return all(
        field.name in _TALLIED_FILTERS or _unset(getattr(filters, field.name))
        for field in fields(filters)
    )


def _unset(value: object) -> bool:
    return value is None or value is False or (isinstance(value, list | tuple) and not value)


def _note_definition_status(session: Session, job: Job, status: str, now: datetime) -> None:
    """An ended run counts on its definition like the workers count it: not COMPLETED = failed."""
    if job.definition_id is None:
        return
    definition = session.get(JobDefinition, job.definition_id)
    if definition is None:
        return
    last_started = definition.last_started_job_time
    if last_started is None or last_started <= job.created:
        definition.last_started_job_status = status
        definition.last_started_job_time = job.created
    definition.last_failed_run_time = now


def _log_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")
