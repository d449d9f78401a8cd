"""Workers' side of the job table: claim with a lease, heartbeat, progress, logs, finish.

Contracts:

- **Claim** (``claim_next_job``): a job is claimable when it is ``INITIALIZING``, queued, its
  intake is ready and no abort was asked; or when it is ``RUNNING`` and its lease has expired
  (its worker died). A job queued behind its definition's active run (overlap policy
  ``queue``, ``after_previous``) is claimable only when no other job of the definition is
  ``RUNNING`` or waiting unqueued, and no earlier queued one (by ``created``, id: the claim
  order) is waiting: queued runs start one at a time, oldest first. Claiming sets ``RUNNING``,
  ``lease_owner``, ``lease_expires`` and bumps ``attempt``, in one transaction. PostgreSQL
  picks the row with ``FOR UPDATE SKIP LOCKED``, so concurrent claimers never get the same
  job; on SQLite the caller's transaction must hold the write lock
  (``session_scope(engine, immediate=True)``), which serializes claimers.
- Concurrent claimers never start two queued runs of one definition, with no lock on the
  definition: a queued job waits for every earlier job of its definition, and a claim only
  turns a waiting job into a running one, which blocks the later jobs as much. Whether a
  claimer reads the earlier job before or after another claimer's claim of it commits (and
  whether ``SKIP LOCKED`` skipped it), that job keeps the later ones back until it ends.
- A job whose worker died ``MAX_ATTEMPTS`` times is not retried again: it is ``FAILED``. A
  ``RUNNING`` job with an expired lease and an abort request is ``ABORTED`` instead of retried.
- **Release** (``release_job``, a clean shutdown): the job is queued again and the attempt it
  held does not count as a dead worker (its number is not reused: outputs and leases are keyed
  by it). A job whose abort was asked ends ``ABORTED`` instead (``_finish``), as its worker
  would have ended it.
- **Lease**: every write a worker makes (heartbeat, progress, finish) is conditional on it still
  owning the job's current attempt (``lease_owner`` and ``attempt``). A worker that lost its
  lease (it stalled past ``lease_expires`` and another worker took over) gets ``False`` /
  ``LeaseLost`` and must stop without touching the job.
- **Finish** (``finish_job``): sets the terminal status, times and counters, and keeps the
  definition's ``lastStartedJobStatus`` / ``lastSuccessfulRunTime`` / ``lastFailedRunTime`` true.
  Every job a worker ends, ends here (``_finish``), once: the ``SUCCESS`` / ``FAILED`` event is
  raised and the definition's run policies applied (``run_outcomes.job_ended``: retry,
  the fire's outcome, auto-disable) in the same transaction. A job a policy aborted
  (``abort_reason``, e.g. "timed out") ends ``ABORTED`` with that reason in its details.
- A retry waiting for its time (``not_before`` in the future) is not claimable yet. A retry of
  a definition disabled or deleted since is ended ``ABORTED`` instead of claimed
  (``run_outcomes.stale_retry``).

All functions work inside the caller's transaction (they flush, never commit).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from scorecast.domain.job_claim import Claim, ProgressUpdate
from scorecast.service import run_outcomes
from scorecast.service.job_events import emit_job_end
from scorecast.service.jobs import BACKFILL_SOURCE
from scorecast.store.models import Job, JobDefinition, JobLog

#: A job whose worker died this many times is failed rather than retried again.
MAX_ATTEMPTS: Final = 3
TERMINAL: Final = frozenset({"COMPLETED", "ABORTED", "FAILED"})


def _not_behind_an_active_run() -> ColumnElement[bool]:
    other = aliased(Job)
    # an earlier job whose abort was asked never runs (one a clean stop put back before this
    # release ended such jobs stayed INITIALIZING): it holds nothing back
    earlier = and_(
        or_(other.created < Job.created, and_(other.created == Job.created, other.id < Job.id)),
        other.abort_requested.is_(False),
    )
    ahead = exists().where(
        other.definition_id == Job.definition_id,
        other.id != Job.id,
        other.source != BACKFILL_SOURCE,  # bounded by the backfill's own maxConcurrent
        or_(
            other.status == "RUNNING",
            and_(
                other.status == "INITIALIZING",
                or_(other.after_previous.is_(False), earlier),
            ),
        ),
    )
    return or_(Job.after_previous.is_(False), ~ahead)


def _fresh(now: ColumnElement[datetime]) -> ColumnElement[bool]:
    return and_(
        Job.status == "INITIALIZING",
        Job.queued.is_(True),
        Job.intake_ready.is_(True),
        Job.abort_requested.is_(False),
        or_(Job.not_before.is_(None), Job.not_before <= now),
        _not_behind_an_active_run(),
    )


def _dead_attempts() -> ColumnElement[int]:
    """How many of the job's attempts ended with their worker dead: every attempt ends
    finished, put back by ``release_job`` (a clean shutdown, counted in ``released_attempts``)
    or dead, and only the dead ones count towards ``MAX_ATTEMPTS``."""
    return Job.attempt - Job.released_attempts


def _now() -> ColumnElement[datetime]:
    """The claim queries' one parameter, ``now`` (the queries are built once)."""
    return bindparam("now", type_=Job.__table__.c.lease_expires.type)


@functools.cache
def _any_claimable() -> Select[str]:
    now = _now()
    orphaned = and_(Job.status == "RUNNING", Job.lease_expires < now)
    return select(Job.id).where(or_(_fresh(now), orphaned)).limit(1)


@functools.cache
def _next_claimable(skip_locked: bool) -> Select[Job]:
    """The oldest claimable job (built once per kind of store: building it, with its aliased
    subquery, took longer than running it)."""
    now = _now()
    orphaned = and_(
        Job.status == "RUNNING",
        Job.lease_expires < now,
        Job.abort_requested.is_(False),
        _dead_attempts() < MAX_ATTEMPTS,
    )
    query = select(Job).where(or_(_fresh(now), orphaned)).order_by(Job.created, Job.id).limit(1)
    return query.with_for_update(skip_locked=True) if skip_locked else query


def has_claimable_job(session: Session, now: datetime) -> bool:
    """A cheap read-only check: is there anything for ``claim_next_job`` to do?"""
    return session.scalar(_any_claimable(), {"now": now}) is not None


def claim_next_job(
    session: Session, worker_id: str, now: datetime, lease_seconds: float
) -> Claim | None:
    """Claim the oldest claimable job for ``worker_id``, or None when there is none.

    See the module docstring for what is claimable and how concurrent claimers are kept apart.
    """
    _settle_dead_jobs(session, now)
    query = _next_claimable(session.get_bind().dialect.name == "postgresql")
    while True:
        job = session.scalars(query, {"now": now}).one_or_none()
        if job is None:
            return None
        why = run_outcomes.stale_retry(session, job)
        if why is None:
            break
        if not run_outcomes.cancel_retry(session, job, now, why):
            return None  # changed under the claim's lock: never seen; the next claim looks again
    retried = job.status == "RUNNING"
    previous_owner = job.lease_owner
    job.status = "RUNNING"
    job.queued = False
    job.attempt += 1
    job.lease_owner = worker_id
    job.lease_expires = now + timedelta(seconds=lease_seconds)
    if job.started is None:
        job.started = now
    if retried:
        job.status_details = f"Job restarted at {_stamp(now)} (attempt {job.attempt})"
        job.percentage_completed = 0.0
        job.scored_rows = job.failed_rows = job.skipped_rows = 0
        job.output_size = None
        append_log(
            session,
            job.id,
            f"The worker {previous_owner} stopped answering; attempt {job.attempt} starts at "
            f"{_stamp(now)}: an output the previous attempt committed is kept and not written "
            "again, anything it left unfinished is discarded",
            now=now,
        )
    else:
        job.status_details = f"Job started processing at {_stamp(now)}"
        append_log(session, job.id, f"Job started processing at {_stamp(now)}", now=now)
    _note_definition(session, job, "RUNNING", now=None)
    session.flush()
    return Claim(job_id=job.id, attempt=job.attempt, worker_id=worker_id, retried=retried)


def _settle_dead_jobs(session: Session, now: datetime) -> None:
    """End orphaned jobs that must not be retried: abort requested, or out of attempts."""
    dead = _dead_attempts()
    query = select(Job, dead).where(
        Job.status == "RUNNING",
        Job.lease_expires < now,
        or_(Job.abort_requested.is_(True), dead >= MAX_ATTEMPTS),
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Job, skip_locked=True)
    for job, deaths in session.execute(query).all():
        if job.abort_requested:
            _finish(session, job, "ABORTED", _aborted_details(job, now), now)
            continue
        details = (
            f"Job failed at {_stamp(now)}: its worker stopped answering in each of "
            f"{deaths} attempts (out of memory, or killed?)"
        )
        _finish(session, job, "FAILED", details, now)


def _aborted_details(job: Job, now: datetime) -> str:
    """``statusDetails`` of a job that ends on an abort its worker did not act on."""
    details = f"Job aborted at {_stamp(now)}"
    return f"{details}: {job.abort_reason}" if job.abort_reason else details


def heartbeat(
    session: Session, worker_id: str, claims: Iterable[Claim], now: datetime, lease_seconds: float
) -> dict[str, bool]:
    """Renew the leases of ``claims``; for each job still owned, whether an abort was asked.

    A job missing from the answer was lost (its lease expired and another worker took it, or
    it ended): its worker must stop without writing to it.
    """
    owned: dict[str, bool] = {}
    expires = now + timedelta(seconds=lease_seconds)
    for claim in claims:
        result = session.execute(
            update(Job)
            .where(*_owned_by(claim, worker_id))
            .values(lease_expires=expires)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            abort = session.scalar(select(Job.abort_requested).where(Job.id == claim.job_id))
            owned[claim.job_id] = bool(abort)
    return owned


def report_progress(session: Session, claim: Claim, progress: ProgressUpdate) -> bool:
    """Store a running job's counters; False when the lease was lost (nothing written)."""
    values: dict[str, object] = {}
    fields = {
        "percentage_completed": progress.percentage,
        "scored_rows": progress.scored_rows,
        "failed_rows": progress.failed_rows,
        "skipped_rows": progress.skipped_rows,
        "intake_size": progress.intake_size,
        "output_size": progress.output_size,
        "rows_per_second": progress.rows_per_second,
        "eta_seconds": progress.eta_seconds,
        "status_details": progress.status_details,
    }
    values = {key: value for key, value in fields.items() if value is not None}
    if not values:
        return is_owner(session, claim)
    result = session.execute(
        update(Job)
        .where(*_owned_by(claim, claim.worker_id))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def abort_requested(session: Session, job_id: str) -> bool:
    """Whether someone asked to abort the job."""
    return bool(session.scalar(select(Job.abort_requested).where(Job.id == job_id)))


def is_owner(session: Session, claim: Claim) -> bool:
    """Whether ``claim`` still holds its job (same worker, same attempt, still RUNNING)."""
    found = session.scalar(select(Job.id).where(*_owned_by(claim, claim.worker_id)))
    return found is not None


def append_log(session: Session, job_id: str, message: str, *, now: datetime | None = None) -> None:
    """Append one line to a job's ``logs``."""
    line = JobLog(job_id=job_id, message=message)
    if now is not None:
        line.created = now
    session.add(line)
    session.flush()


def finish_job(
    session: Session,
    claim: Claim,
    status: str,
    details: str,
    now: datetime,
    *,
    progress: ProgressUpdate | None = None,
    logs: Sequence[tuple[datetime, str]] = (),
) -> bool:
    """End the claimed job with ``status`` (COMPLETED, ABORTED or FAILED).

    ``logs`` (when, line), the lines its run logged and not yet written, are appended first;
    ``details`` becomes ``statusDetails`` and the last log line. Returns False (and changes
    nothing) when the claim was lost. Updates the definition's last-run fields.
    """
    if status not in TERMINAL:
        raise ValueError(f"{status!r} is not a terminal status")
    query = select(Job).where(*_owned_by(claim, claim.worker_id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    job = session.scalars(query).one_or_none()
    if job is None:
        return False
    for moment, line in logs:
        append_log(session, job.id, line, now=moment)
    if progress is not None:
        _apply(job, progress)
    _finish(session, job, status, details, now)
    return True


def end_with_failure(
    session: Session,
    claim: Claim,
    status: str,
    message: str,
    now: datetime,
    *,
    progress: ProgressUpdate | None = None,
    logs: Sequence[tuple[datetime, str]] = (),
) -> bool:
    """End the claimed job ABORTED or FAILED, ``statusDetails`` saying when and ``message``
    (``logs``: as for ``finish_job``)."""
    verb = "aborted" if status == "ABORTED" else "failed"
    reason = _policy_abort_reason(session, claim) if status == "ABORTED" else None
    details = f"Job {verb} at {_stamp(now)}: {reason or message}"
    return finish_job(session, claim, status, details, now, progress=progress, logs=logs)


def _policy_abort_reason(session: Session, claim: Claim) -> str | None:
    """Why a policy aborted the job (its run saw only "aborted on request"); None otherwise."""
    return session.scalar(select(Job.abort_reason).where(Job.id == claim.job_id))


def release_job(
    session: Session,
    claim: Claim,
    reason: str,
    now: datetime,
    *,
    logs: Sequence[tuple[datetime, str]] = (),
) -> bool:
    """Put a claimed job back in the queue (its worker is shutting down); False if lost
    (``logs``: as for ``finish_job``).

    The job becomes ``INITIALIZING`` and queued again with its progress reset; the next claim
    starts a new attempt whose output replaces this one's; this attempt does not count towards
    ``MAX_ATTEMPTS``. A job whose abort was asked (a user, a timeout, a newer fire replacing it)
    before its worker acted on it ends ``ABORTED`` here instead, as its worker would have ended
    it (``_finish``): nothing would claim it again.
    """
    query = select(Job).where(*_owned_by(claim, claim.worker_id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    job = session.scalars(query).one_or_none()
    if job is None:
        return False
    for moment, line in logs:
        append_log(session, job.id, line, now=moment)
    if job.abort_requested:
        _finish(session, job, "ABORTED", _aborted_details(job, now), now)
        return True
    job.status = "INITIALIZING"
    job.queued = True
    job.lease_owner = None
    job.lease_expires = None
    job.percentage_completed = 0.0
    job.scored_rows = job.failed_rows = job.skipped_rows = 0
    job.output_size = None
    job.eta_seconds = job.rows_per_second = None
    job.released_attempts += 1
    job.status_details = f"Job re-queued at {_stamp(now)}: {reason}"
    append_log(session, job.id, job.status_details, now=now)
    _note_definition(session, job, "INITIALIZING", now=None)
    session.flush()
    return True


def _finish(session: Session, job: Job, status: str, details: str, now: datetime) -> None:
    job.status = status
    job.status_details = details
    job.finished = now
    job.queued = False
    job.lease_owner = None
    job.lease_expires = None
    job.eta_seconds = None
    if status == "COMPLETED":
        job.percentage_completed = 100.0
    append_log(session, job.id, details, now=now)
    _note_definition(session, job, status, now=now)
    session.flush()
    emit_job_end(session, job)
    run_outcomes.job_ended(session, job, now)


def _apply(job: Job, progress: ProgressUpdate) -> None:
    if progress.percentage is not None:
        job.percentage_completed = progress.percentage
    if progress.scored_rows is not None:
        job.scored_rows = progress.scored_rows
    if progress.failed_rows is not None:
        job.failed_rows = progress.failed_rows
    if progress.skipped_rows is not None:
        job.skipped_rows = progress.skipped_rows
    if progress.intake_size is not None:
        job.intake_size = progress.intake_size
    if progress.output_size is not None:
        job.output_size = progress.output_size
    if progress.rows_per_second is not None:
        job.rows_per_second = progress.rows_per_second


def _note_definition(session: Session, job: Job, status: str, now: datetime | None) -> None:
    """Keep the definition's last-run fields true for the job it started most recently."""
    if job.definition_id is None:
        return
    definition = session.get(JobDefinition, job.definition_id)
    if definition is None:
        return
    if definition.last_started_job_time is None or definition.last_started_job_time <= job.created:
        definition.last_started_job_status = status
        definition.last_started_job_time = job.created
    if now is not None and status == "COMPLETED":
        definition.last_successful_run_time = now
    elif now is not None:
        definition.last_failed_run_time = now


def _owned_by(claim: Claim, worker_id: str) -> tuple[ColumnElement[bool], ...]:
    return (
        Job.id == claim.job_id,
        Job.status == "RUNNING",
        Job.lease_owner == worker_id,
        Job.attempt == claim.attempt,
    )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def attempts_in_flight(session: Session, job_ids: Iterable[str]) -> dict[str, int]:
    """For each of ``job_ids`` that exists and is not finished: its current attempt number
    (the one running, or the last one of a job queued again; 0 before its first)."""
    ids = list(dict.fromkeys(job_ids))
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Job.id, Job.attempt).where(
                Job.id.in_(ids[start : start + 500]), Job.status.not_in(TERMINAL)
            )
        )
        found.update({job_id: int(attempt) for job_id, attempt in rows})
    return found


def running_lease_owners(session: Session) -> set[str]:
    """The workers holding a lease on a RUNNING job."""
    owners = session.scalars(
        select(Job.lease_owner).where(Job.status == "RUNNING", Job.lease_owner.is_not(None))
    )
    return {owner for owner in owners if owner}


def expire_leases_of(session: Session, owners: Iterable[str], now: datetime, reason: str) -> int:
    """End the leases of dead ``owners`` now, so that their jobs are claimed again at once
    rather than showing their last progress until the leases run out. Returns how many jobs.

    The caller must know the owners are gone (``runtime.worker``: a worker of this machine
    whose process no longer exists); the jobs' progress is cleared and ``statusDetails`` says
    why until the next claim starts the next attempt.
    """
    names = list(owners)
    if not names:
        return 0
    jobs = session.scalars(
        select(Job).where(Job.status == "RUNNING", Job.lease_owner.in_(names))
    ).all()
    for job in jobs:
        job.lease_expires = now - timedelta(seconds=1)
        job.percentage_completed = 0.0
        job.eta_seconds = job.rows_per_second = None
        job.status_details = f"Job waiting for a worker since {_stamp(now)}: {reason}"
        append_log(session, job.id, job.status_details, now=now)
    session.flush()
    return len(jobs)
