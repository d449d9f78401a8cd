"""What a definition's policies make of a run that ended: retry, the fire's outcome, auto-disable.

Called by ``service.claims`` once per job, in the transaction that stores its terminal status
(``job_ended``), and by the scheduler for a fire whose job could not be created
(``fire_failed``). Contracts:

- **Retry**: a run of a fire (a job with a ``scheduled_time`` and a source in
  ``RETRIED_SOURCES``) that FAILED, or was aborted by a policy or ``abortOnError`` but not by a
  user, is tried again while the definition's ``retry.maxAttempts`` allow
  (``domain.run_policies.next_attempt_at``): a new job of the same definition and scheduled
  time, ``fire_attempt`` one more, ``retry_of`` the failed job, not claimed before its
  ``not_before``. It is created in this transaction, after the failed job ended, so a fire never
  has two jobs at once, and it is a stored row, so it survives a restart. The fire's row becomes
  ``retried`` with the new job's id and a reason naming both jobs. A retry whose job cannot be
  created (the deployment was deleted) ends the fire ``failed``. No retry while the definition
  is disabled: disabling it (by a user or by auto-disable) or deleting it ends its retries
  that still wait for their time or a worker ``ABORTED`` (``cancel_waiting_retries``), and
  their fires ``failed``.
- **Fire outcome**: the last attempt failed: the fire is ``failed`` with the reason; a retry
  that completes leaves it ``retried``, its reason telling which attempt completed.
- **Auto-disable**: after each failed fire the consecutive failed fires are counted
  (``domain.run_policies.consecutive_failures``, over the fire rows fired since a user last
  enabled the definition, newest first); reaching
  ``autoDisableAfterFailures`` disables the definition with ``disabled_reason`` and raises
  ``AUTO_DISABLED``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scorecast.domain.definition_policies import DefinitionPolicies, policies_from_stored
from scorecast.domain.events import Event, EventType
from scorecast.domain.run_policies import (
    FireResult,
    RunEnd,
    consecutive_failures,
    disabled_reason,
    next_attempt_at,
    run_end,
    should_disable,
)
from scorecast.errors import ScorecastError
from scorecast.service.events import emit
from scorecast.service.job_events import emit_job_end
from scorecast.service.jobs import add_log, caller_for_definition, job_from_definition
from scorecast.store.models import Job, JobDefinition, ScheduleFire

#: the job sources whose failed runs the ``retry`` policy tries again
RETRIED_SOURCES: Final = frozenset({"scheduled"})
#: fire outcomes whose runs count for ``autoDisableAfterFailures`` (others are neutral)
_COUNTED_OUTCOMES: Final = ("started", "queued", "retried", "failed")
#: fires read past the threshold when counting failures (neutral ones are passed over)
_NEUTRAL_SLACK: Final = 50
_EPOCH: Final = datetime(1970, 1, 1)


def policies_of(definition: JobDefinition) -> DefinitionPolicies:
    """The stored policies of ``definition`` (the defaults when it has none)."""
    return policies_from_stored(definition.policies)


def job_ended(session: Session, job: Job, now: datetime) -> None:
    """Apply the definition's policies to ``job``, which just ended (see the module docstring)."""
    if job.definition_id is None or job.scheduled_time is None:
        return
    if job.source not in RETRIED_SOURCES:
        return
    definition = session.get(JobDefinition, job.definition_id)
    if definition is None:
        return
    end = run_end(job.status, abort_requested=job.abort_requested, abort_reason=job.abort_reason)
    fire = _fire_of(session, job)
    if end is RunEnd.SUCCEEDED:
        if fire is not None and fire.outcome == "retried" and job.fire_attempt > 1:
            fire.reason = f"{fire.reason}; attempt {job.fire_attempt} (job {job.id}) completed"
        return
    if end is RunEnd.CANCELLED:
        return
    what = f"attempt {job.fire_attempt} (job {job.id}) ended {job.status}: {job.status_details}"
    policies = policies_of(definition)
    retry = policies.retry
    at = next_attempt_at(
        job.fire_attempt,
        now,
        max_attempts=retry.max_attempts,
        delay_seconds=retry.delay_seconds,
        backoff_factor=retry.backoff_factor,
    )
    if at is not None and definition.enabled:
        try:
            with session.begin_nested():
                follow_up = _retry(session, definition, job, at)
        except ScorecastError as exc:
            what += f"; its retry could not be created: {exc.message}"
        else:
            if fire is not None:
                fire.outcome, fire.job_id = "retried", follow_up.id
                fire.reason = (
                    f"{what}; attempt {follow_up.fire_attempt} (job {follow_up.id}) at {_stamp(at)}"
                )
            session.flush()
            return
    if fire is not None:
        fire.outcome, fire.job_id, fire.reason = "failed", job.id, what
    session.flush()
    count_failed_fires(session, definition, now, what, policies)


def fire_failed(session: Session, definition: JobDefinition, now: datetime, reason: str) -> None:
    """A fire of ``definition`` failed without a run (its job could not be created): count it
    for ``autoDisableAfterFailures``. The caller recorded the fire row (``failed``)."""
    session.flush()
    count_failed_fires(session, definition, now, reason, policies_of(definition))


def count_failed_fires(
    session: Session,
    definition: JobDefinition,
    now: datetime,
    last_failure: str,
    policies: DefinitionPolicies,
) -> bool:
    """Disable ``definition`` if its consecutive failed fires reach the policy; whether it did."""
    threshold = policies.auto_disable_after_failures
    if threshold is None or not definition.enabled:
        return False
    rows = session.execute(
        select(ScheduleFire.outcome, Job.status, Job.abort_requested, Job.abort_reason)
        .outerjoin(Job, Job.id == ScheduleFire.job_id)
        .where(
            ScheduleFire.definition_id == definition.id,
            ScheduleFire.outcome.in_(_COUNTED_OUTCOMES),
            ScheduleFire.fired_at >= (definition.enabled_since or _EPOCH),
        )
        .order_by(ScheduleFire.scheduled_time.desc(), ScheduleFire.id.desc())
        .limit(threshold + _NEUTRAL_SLACK)
    ).all()
    results = [_fire_result(*row) for row in rows]
    failures = consecutive_failures(results)
    if not should_disable(threshold, failures):
        return False
    definition.enabled = False
    definition.next_scheduled_run_time = None
    definition.disabled_reason = disabled_reason(failures, last_failure)
    definition.updated = now
    cancel_waiting_retries(session, definition, now, "the definition was disabled automatically")
    emit(
        session,
        Event(
            type=EventType.AUTO_DISABLED,
            org_id=definition.org_id,
            definition_id=definition.id,
            reason=definition.disabled_reason,
        ),
    )
    session.flush()
    return True


def cancel_waiting_retries(
    session: Session, definition: JobDefinition, now: datetime, why: str
) -> list[Job]:
    """End ``ABORTED`` the retries of ``definition`` not claimed yet (``why``: the definition
    was disabled or deleted), each fire ``failed``; the jobs ended."""
    waiting = session.scalars(
        select(Job)
        .where(
            Job.definition_id == definition.id,
            Job.status == "INITIALIZING",
            Job.retry_of.is_not(None),
        )
        # PostgreSQL: a retry a worker is claiming right now is locked by its claim, which
        # then updates this definition, whose row this transaction may hold already (a run
        # that just ended noted its status there): waiting for it would deadlock, and that
        # retry is claimed anyway (it runs, as a retry already running does; if the claim
        # rolls back, the next claim ends it: ``stale_retry``)
        .with_for_update(skip_locked=True)
    ).all()
    ended = [job for job in waiting if cancel_retry(session, job, now, why)]
    session.flush()
    return ended


def cancel_retry(session: Session, job: Job, now: datetime, why: str) -> bool:
    """End the waiting retry ``job`` ``ABORTED`` (``why``) and its fire ``failed``; False when
    a worker claimed it meanwhile."""
    details = f"Retry cancelled at {_stamp(now)}: {why}"
    cancelled = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "INITIALIZING")  # not claimed meanwhile
        .values(status="ABORTED", status_details=details, queued=False, finished=now)
        .execution_options(synchronize_session=False)
    )
    if cancelled.rowcount != 1:  # type: ignore[attr-defined]
        return False
    add_log(session, job.id, details)
    session.refresh(job)
    fire = _fire_of(session, job)
    if fire is not None and fire.job_id == job.id:
        fire.outcome = "failed"
        fire.reason = f"{fire.reason}; attempt {job.fire_attempt} (job {job.id}) cancelled: {why}"
    emit_job_end(session, job)
    return True


def stale_retry(session: Session, job: Job) -> str | None:
    """Why the unclaimed ``job`` must not run, when it is a retry of a definition disabled or
    deleted since (``cancel_waiting_retries`` skips a retry a claim holds: if that claim rolls
    back, the next claim finds it here); None otherwise."""
    if job.retry_of is None or job.status != "INITIALIZING" or job.definition_id is None:
        return None
    definition = session.get(JobDefinition, job.definition_id)
    if definition is None:
        return "the definition was deleted"
    if not definition.enabled:
        return "the definition was disabled"
    return None


def _fire_result(
    outcome: str, status: str | None, abort_requested: bool | None, abort_reason: str | None
) -> FireResult:
    if outcome == "failed":
        return FireResult.FAILED
    if status not in ("COMPLETED", "FAILED", "ABORTED"):
        return FireResult.NEUTRAL  # running, retrying, or its row was pruned
    end = run_end(status, abort_requested=bool(abort_requested), abort_reason=abort_reason)
    return {
        RunEnd.SUCCEEDED: FireResult.SUCCEEDED,
        RunEnd.FAILED: FireResult.FAILED,
        RunEnd.CANCELLED: FireResult.NEUTRAL,
    }[end]


def _retry(session: Session, definition: JobDefinition, failed: Job, at: datetime) -> Job:
    caller = caller_for_definition(session, definition)
    job = job_from_definition(
        session, caller, definition.id, source=failed.source, scheduled_time=failed.scheduled_time
    )
    job.fire_attempt = failed.fire_attempt + 1
    job.retry_of = failed.id
    job.not_before = at
    job.status_details = (
        f"Retry {job.fire_attempt} of the run scheduled at {_stamp(failed.scheduled_time)} "
        f"(job {failed.id} failed); waiting until {_stamp(at)}"
    )
    add_log(session, job.id, job.status_details)
    add_log(session, failed.id, f"Retried as job {job.id} at {_stamp(at)}")
    return job


def _fire_of(session: Session, job: Job) -> ScheduleFire | None:
    return session.scalars(
        select(ScheduleFire).where(
            ScheduleFire.definition_id == job.definition_id,
            ScheduleFire.scheduled_time == job.scheduled_time,
        )
    ).one_or_none()


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "?"
