"""The events a job of a definition raises when it ends: ``SUCCESS`` or ``FAILED``.

Jobs end in three places: a worker finishing its claim (``service.claims``), a user aborting a
job no worker holds yet (``service.jobs.abort_job``) and the scheduler aborting a waiting run
that a newer fire replaced (``service.firing``, overlap policy ``cancelRunning``). Each calls
``emit_job_end`` once, in the transaction that stores the terminal status. A job without a
definition raises nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from scorecast.domain.events import Event, EventType
from scorecast.service.events import emit
from scorecast.store.models import Job


def emit_job_end(session: Session, job: Job) -> None:
    """``SUCCESS`` for a COMPLETED job of a definition, ``FAILED`` for a FAILED or ABORTED one."""
    if job.definition_id is None:
        return
    kind = EventType.SUCCESS if job.status == "COMPLETED" else EventType.FAILED
    emit(
        session,
        Event(
            type=kind,
            org_id=job.org_id,
            definition_id=job.definition_id,
            job_id=job.id,
            scheduled_time=job.scheduled_time,
            reason=None if kind is EventType.SUCCESS else job.status_details,
        ),
    )
