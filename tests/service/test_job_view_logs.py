"""The log lines a job's JSON shows: its newest ``MAX_LOG_LINES``, oldest first, the same
whether the job is read alone (one query of its own) or in a page of jobs (one query for all),
on both stores."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select

from scorecast.service import accounts
from scorecast.service.job_views import MAX_LOG_LINES, job_views
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobLog, User

SPEC = {"intakeSettings": {"type": "localFile"}, "outputSettings": {"type": "localFile"}}


def _jobs(engine: Engine, lines: dict[str, int]) -> None:
    with session_scope(engine) as session:
        accounts.create_token(session, "acme", "ann")
        user = session.scalars(select(User)).one()
        for job_id, count in lines.items():
            session.add(
                Job(
                    id=job_id,
                    org_id=user.org_id,
                    deployment_id="d" * 24,
                    spec=SPEC,
                    source="api",
                    status="COMPLETED",
                    status_details="Job completed",
                    created_by=user.id,
                )
            )
            session.flush()
            if count:
                rows = [{"job_id": job_id, "message": f"{job_id} {n}"} for n in range(count)]
                session.execute(insert(JobLog), rows)


def test_a_job_alone_and_in_a_page_shows_its_newest_lines_oldest_first(engine: Engine) -> None:
    _jobs(engine, {"a" * 24: MAX_LOG_LINES + 5, "b" * 24: 3, "c" * 24: 0})
    expected = {
        "a" * 24: [f"{'a' * 24} {n}" for n in range(5, MAX_LOG_LINES + 5)],
        "b" * 24: [f"{'b' * 24} {n}" for n in range(3)],
        "c" * 24: [],
    }
    with session_scope(engine, deferred=True) as session:
        jobs = session.scalars(select(Job).order_by(Job.id)).all()
        alone = {job.id: job_views(session, [job])[0].logs for job in jobs}
        paged = {view.job.id: view.logs for view in job_views(session, jobs)}
    assert alone == expected
    assert paged == expected
