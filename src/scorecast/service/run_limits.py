"""Runs that go on too long: ``timeoutSeconds`` aborts them, ``expectedDurationSeconds`` warns.

``enforce_run_limits(session, now)`` is called periodically by every worker
(``runtime.run_policy_loop``); it looks at every RUNNING job of a definition, whichever worker
holds it, so a job whose process is stuck, or whose worker is gone, is still handled:

- past its definition's ``timeoutSeconds`` (counted from ``started``): the job gets
  ``abort_requested`` with ``abort_reason`` "timed out" and the ``TIMED_OUT`` event. The abort
  then takes the way of a user's: the holding worker's heartbeat passes it to the job process,
  which stops (or is killed after ``worker.STOP_GRACE_SECONDS``), and the job ends ``ABORTED``
  with statusDetails "Job aborted at …: timed out"; a job whose worker died is ended by the next
  claim's ``_settle_dead_jobs`` once its lease expires. A timed-out run counts as failed for
  ``retry`` and ``autoDisableAfterFailures``.
- past its ``expectedDurationSeconds``: the ``SLOW`` event, once per job (``slow_reported``).

Each change is a conditional update (``abort_requested`` / ``slow_reported`` still false), so
several workers running this at once raise each event once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scorecast.domain.definition_policies import policies_from_stored
from scorecast.domain.events import Event, EventType
from scorecast.domain.run_policies import TIMED_OUT, past
from scorecast.service.events import emit
from scorecast.service.jobs import add_log
from scorecast.store.models import Job, JobDefinition


@dataclass(frozen=True)
class LimitReached:
    """A job that just reached a limit: ``TIMED_OUT`` or ``SLOW``."""

    job_id: str
    event: EventType


def limits_reached(session: Session, now: datetime) -> bool:
    """A read-only check: has a running job reached a limit not yet acted on?"""
    return bool(_reached(session, now))


def enforce_run_limits(session: Session, now: datetime) -> list[LimitReached]:
    """Abort the timed-out runs and report the slow ones (see the module docstring)."""
    done: list[LimitReached] = []
    for job, kind, seconds in _reached(session, now):
        act = _time_out if kind is EventType.TIMED_OUT else _report_slow
        if act(session, job, seconds):
            done.append(LimitReached(job.id, kind))
    session.flush()
    return done


def _reached(session: Session, now: datetime) -> list[tuple[Job, EventType, int]]:
    rows = session.execute(
        select(Job, JobDefinition.policies)
        .join(JobDefinition, JobDefinition.id == Job.definition_id)
        .where(Job.status == "RUNNING", Job.started.is_not(None))
    ).all()
    reached: list[tuple[Job, EventType, int]] = []
    for job, stored in rows:
        if stored is None:
            continue
        policies = policies_from_stored(stored)
        timeout, expected = policies.timeout_seconds, policies.expected_duration_seconds
        if timeout is not None and not job.abort_requested and past(job.started, now, timeout):
            reached.append((job, EventType.TIMED_OUT, timeout))
        if expected is not None and not job.slow_reported and past(job.started, now, expected):
            reached.append((job, EventType.SLOW, expected))
    return reached


def _time_out(session: Session, job: Job, timeout: int) -> bool:
    details = f"Job timed out: still running after timeoutSeconds={timeout}; aborting it"
    changed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "RUNNING", Job.abort_requested.is_(False))
        .values(abort_requested=True, abort_reason=TIMED_OUT, status_details=details)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    add_log(session, job.id, details)
    _emit(session, job, EventType.TIMED_OUT, f"still running after {timeout} s (timeoutSeconds)")
    return True


def _report_slow(session: Session, job: Job, expected: int) -> bool:
    changed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "RUNNING", Job.slow_reported.is_(False))
        .values(slow_reported=True)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    reason = f"still running after {expected} s (expectedDurationSeconds)"
    add_log(session, job.id, f"Job is slow: {reason}")
    _emit(session, job, EventType.SLOW, reason)
    return True


def _emit(session: Session, job: Job, kind: EventType, reason: str) -> None:
    emit(
        session,
        Event(
            type=kind,
            org_id=job.org_id,
            definition_id=job.definition_id,
            job_id=job.id,
            scheduled_time=job.scheduled_time,
            reason=reason,
        ),
    )
