"""Putting a claimed job back on a clean shutdown (``release_job``), on SQLite and PostgreSQL:
a job whose abort was asked ends ABORTED instead, and a released attempt is not a dead worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from policy_rows import (  # noqa: F401 (root_fixture is the root fixture)
    LEASE,
    claim,
    fire,
    fire_row,
    job_row,
    jobs_of,
    policy_definition,
    root_fixture,
)
from rows import add_job, org_and_user
from sqlalchemy import Engine, select
from test_firing_policies import (
    T0,
    definition,
    failed_events,
    fire_alive,
    fires,
    slow_run,
    subscribe_to_failed_runs,
)

from scorecast.domain.definition_policies import OverlapPolicy
from scorecast.domain.job_claim import Claim
from scorecast.domain.run_policies import REPLACED
from scorecast.service.caller import Caller
from scorecast.service.claims import MAX_ATTEMPTS, release_job
from scorecast.service.jobs import abort_job
from scorecast.service.run_limits import enforce_run_limits
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition, JobLog, User

SHUTDOWN = "the worker shut down"


def release(engine: Engine, got: Claim, now: datetime) -> bool:
    with session_scope(engine) as session:
        return release_job(session, got, SHUTDOWN, now)


def last_log_line(engine: Engine, job_id: str) -> str:
    with session_scope(engine) as session:
        return (
            session.scalars(
                select(JobLog.message).where(JobLog.job_id == job_id).order_by(JobLog.id.desc())
            ).first()
            or ""
        )


def abort_as_its_user(engine: Engine, job_id: str) -> None:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        user = session.get(User, job.created_by)
        assert user is not None
        abort_job(session, Caller(user.org_id, user.id, user.username, None, True), job_id)


def test_a_job_aborted_before_its_release_ends_aborted_and_frees_its_definition(
    engine: Engine,
) -> None:
    definition_id = definition(engine)  # overlap policy skip: a live run skips the next fires
    subscribe_to_failed_runs(engine, definition_id)
    [first] = fire_alive(engine, T0 + timedelta(seconds=1))
    got = claim(engine, T0 + timedelta(seconds=2))
    assert got is not None and got.job_id == first.job_id
    abort_as_its_user(engine, got.job_id)  # the worker shuts down before it sees the abort
    released_at = T0 + timedelta(seconds=3)
    assert release(engine, got, released_at)

    row = job_row(engine, got.job_id)
    assert (row.status, row.queued, row.lease_owner) == ("ABORTED", False, None)
    assert row.finished == released_at
    assert row.status_details.startswith("Job aborted at")
    assert last_log_line(engine, got.job_id) == row.status_details
    with session_scope(engine) as session:
        owner = session.get(JobDefinition, definition_id)
        assert owner is not None and owner.last_started_job_status == "ABORTED"
    assert failed_events(engine) == [(got.job_id, "ABORTED")]
    assert claim(engine, T0 + timedelta(seconds=4)) is None  # nothing left to run
    fire_alive(engine, T0 + timedelta(minutes=1, seconds=1))
    assert [outcome for _, outcome, _ in fires(engine, definition_id)] == ["started", "started"]


def test_a_timed_out_job_released_before_its_abort_ends_aborted_and_is_retried(
    engine: Engine, root: Path
) -> None:
    retry = {"maxAttempts": 2, "delaySeconds": 0, "backoffFactor": 1}
    definition_id = policy_definition(engine, root, timeoutSeconds=10, retry=retry)
    fire(engine, definition_id, T0)
    got = claim(engine, T0)
    assert got is not None
    with session_scope(engine) as session:
        assert enforce_run_limits(session, T0 + timedelta(seconds=11))
    assert release(engine, got, T0 + timedelta(seconds=12))

    timed_out, retried = jobs_of(engine, definition_id)
    assert timed_out.status == "ABORTED" and timed_out.status_details.endswith(": timed out")
    assert (retried.status, retried.fire_attempt, retried.retry_of) == (
        "INITIALIZING",
        2,
        timed_out.id,
    )
    assert fire_row(engine, definition_id, T0).outcome == "retried"


def test_a_replaced_run_released_before_its_abort_ends_aborted(engine: Engine) -> None:
    definition_id, slow = slow_run(engine, OverlapPolicy.CANCEL_RUNNING)
    assert job_row(engine, slow).abort_requested  # the 12:01 fire replaced it
    # the claim ``slow_run`` made: the first attempt of worker-1
    got = Claim(job_id=slow, attempt=1, worker_id="worker-1", retried=False)
    assert release(engine, got, T0 + timedelta(minutes=3, seconds=2))
    row = job_row(engine, slow)
    assert row.status == "ABORTED" and row.status_details.endswith(f": {REPLACED}")
    assert [job.status for job in jobs_of(engine, definition_id)][:3] == ["ABORTED"] * 3


def test_clean_releases_do_not_count_as_dead_workers(engine: Engine) -> None:
    org, user = org_and_user(engine)
    job_id = add_job(engine, org, user)
    now = T0
    for attempt in (1, 2):  # two clean restarts: the job goes back to the queue each time
        got = claim(engine, now, worker=f"w{attempt}")
        assert got is not None and got.attempt == attempt
        assert release(engine, got, now)
        now += timedelta(seconds=5)
    # then its workers die, MAX_ATTEMPTS times: each attempt keeps its own number
    for attempt in range(3, 3 + MAX_ATTEMPTS):
        got = claim(engine, now, worker=f"w{attempt}")
        assert got is not None and got.attempt == attempt, "failed before its workers died"
        now += timedelta(seconds=LEASE + 1)
    assert claim(engine, now, worker="last") is None
    row = job_row(engine, job_id)
    assert row.status == "FAILED"
    assert f"each of {MAX_ATTEMPTS} attempts" in row.status_details
