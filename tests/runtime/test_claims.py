"""Claiming jobs with leases, on SQLite and PostgreSQL: who gets what, retries, finishing."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from rows import add_definition, add_job, add_jobs, org_and_user
from sqlalchemy import Engine

from scorecast.domain.job_claim import Claim, ProgressUpdate
from scorecast.service.claims import (
    MAX_ATTEMPTS,
    claim_next_job,
    finish_job,
    heartbeat,
    report_progress,
)
from scorecast.store.db import create_engine_for, session_scope
from scorecast.store.models import Job, JobDefinition, JobLog
from scorecast.store.types import utcnow

LEASE = 30.0


def claim(
    engine: Engine, worker: str, *, later: float = 0.0, at: datetime | None = None
) -> Claim | None:
    with session_scope(engine, immediate=True) as session:
        return claim_next_job(session, worker, (at or utcnow()) + timedelta(seconds=later), LEASE)


def job_row(engine: Engine, job_id: str) -> Job:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_nothing_to_claim(engine: Engine) -> None:
    assert claim(engine, "w1") is None


def test_the_oldest_ready_job_is_claimed_once(engine: Engine) -> None:
    org, user = org_and_user(engine)
    first, second = add_jobs(engine, org, user, 2)
    got = claim(engine, "w1")
    assert got is not None and got.job_id == first and got.attempt == 1 and not got.retried
    row = job_row(engine, first)
    assert row.status == "RUNNING" and row.lease_owner == "w1" and row.queued is False
    assert row.started is not None and row.lease_expires is not None
    got2 = claim(engine, "w2")
    assert got2 is not None and got2.job_id == second
    assert claim(engine, "w3") is None


@pytest.mark.parametrize(
    "values",
    [
        {"intake_ready": False},
        {"abort_requested": True},
        {"queued": False},
        {"status": "COMPLETED"},
        {"status": "ABORTED"},
    ],
)
def test_jobs_that_are_not_claimable(engine: Engine, values: dict[str, object]) -> None:
    org, user = org_and_user(engine)
    add_job(engine, org, user, **values)
    assert claim(engine, "w1") is None


def test_a_live_lease_keeps_a_running_job(engine: Engine) -> None:
    org, user = org_and_user(engine)
    add_job(engine, org, user)
    # one clock reading for both: a machine pausing over 1 s between them must not expire it
    now = utcnow()
    assert claim(engine, "w1", at=now) is not None
    assert claim(engine, "w2", at=now, later=LEASE - 1) is None


def test_an_expired_lease_is_reclaimed_with_the_next_attempt(engine: Engine) -> None:
    org, user = org_and_user(engine)
    job_id = add_job(engine, org, user)
    old = claim(engine, "w1")
    assert old is not None
    with session_scope(engine) as session:
        assert report_progress(session, old, ProgressUpdate(percentage=40.0, scored_rows=10))
    new = claim(engine, "w2", later=LEASE + 1)
    assert new is not None and new.job_id == job_id and new.attempt == 2 and new.retried
    row = job_row(engine, job_id)
    assert row.lease_owner == "w2" and row.attempt == 2
    assert row.percentage_completed == 0.0 and row.scored_rows == 0  # the new attempt starts over
    assert "attempt 2" in row.status_details
    with session_scope(engine) as session:
        # the first worker lost its lease: nothing it writes lands
        assert heartbeat(session, "w1", [old], utcnow(), LEASE) == {}
        assert not report_progress(session, old, ProgressUpdate(percentage=90.0))
        assert not finish_job(session, old, "COMPLETED", "done", utcnow())
        assert heartbeat(session, "w2", [new], utcnow(), LEASE) == {job_id: False}
    assert job_row(engine, job_id).status == "RUNNING"


def test_heartbeats_keep_the_lease_and_report_abort_requests(engine: Engine) -> None:
    org, user = org_and_user(engine)
    job_id = add_job(engine, org, user)
    got = claim(engine, "w1")
    assert got is not None
    with session_scope(engine) as session:
        assert heartbeat(session, "w1", [got], utcnow() + timedelta(seconds=25), LEASE) == {
            job_id: False
        }
    assert claim(engine, "w2", later=LEASE + 1) is None  # renewed at +25 s: still owned at +31 s
    with session_scope(engine) as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.abort_requested = True
    with session_scope(engine) as session:
        assert heartbeat(session, "w1", [got], utcnow(), LEASE) == {job_id: True}


def test_an_orphaned_job_with_an_abort_request_ends_aborted(engine: Engine) -> None:
    org, user = org_and_user(engine)
    job_id = add_job(engine, org, user)
    assert claim(engine, "w1") is not None
    with session_scope(engine) as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.abort_requested = True
    assert claim(engine, "w2", later=LEASE + 1) is None
    row = job_row(engine, job_id)
    assert row.status == "ABORTED" and row.finished is not None and row.lease_owner is None


def test_a_job_whose_worker_keeps_dying_fails(engine: Engine) -> None:
    org, user = org_and_user(engine)
    job_id = add_job(engine, org, user)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        got = claim(engine, f"w{attempt}", later=(attempt - 1) * (LEASE + 1))
        assert got is not None and got.attempt == attempt
    assert claim(engine, "last", later=MAX_ATTEMPTS * (LEASE + 1)) is None
    row = job_row(engine, job_id)
    assert row.status == "FAILED"
    assert f"{MAX_ATTEMPTS} attempts" in row.status_details


def test_finish_sets_the_outcome_and_the_definitions_last_run_fields(engine: Engine) -> None:
    org, user = org_and_user(engine)
    definition_id = add_definition(engine, org, user)
    created = utcnow() - timedelta(minutes=1)
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        definition.last_started_job_time = created
        definition.last_started_job_status = "INITIALIZING"
    job_id = add_job(engine, org, user, definition_id=definition_id, created=created)
    got = claim(engine, "w1")
    assert got is not None
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None and definition.last_started_job_status == "RUNNING"
    done = utcnow()
    with session_scope(engine) as session:
        progress = ProgressUpdate(scored_rows=7, failed_rows=1, intake_size=100, output_size=80)
        assert finish_job(session, got, "COMPLETED", "Job completed", done, progress=progress)
    row = job_row(engine, job_id)
    assert row.status == "COMPLETED" and row.percentage_completed == 100.0
    assert (row.scored_rows, row.failed_rows, row.intake_size, row.output_size) == (7, 1, 100, 80)
    assert row.lease_owner is None and row.finished == done
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        assert definition.last_started_job_status == "COMPLETED"
        assert definition.last_successful_run_time == done
        assert definition.last_failed_run_time is None
        logs = [line.message for line in session.query(JobLog).filter_by(job_id=job_id)]
    assert logs[-1] == "Job completed"

    failing = add_job(engine, org, user, definition_id=definition_id, created=utcnow())
    got = claim(engine, "w1")
    assert got is not None and got.job_id == failing
    failing_created = job_row(engine, failing).created
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        definition.last_started_job_time = failing_created
    with session_scope(engine) as session:
        assert finish_job(session, got, "FAILED", "Job failed: boom", done)
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        assert definition.last_started_job_status == "FAILED"
        assert definition.last_failed_run_time == done
        assert definition.last_successful_run_time == done


def test_finish_refuses_a_non_terminal_status(engine: Engine) -> None:
    org, user = org_and_user(engine)
    add_job(engine, org, user)
    got = claim(engine, "w1")
    assert got is not None
    with session_scope(engine) as session, pytest.raises(ValueError):
        finish_job(session, got, "RUNNING", "no", utcnow())


def test_concurrent_claimers_never_get_the_same_job(store_url: str) -> None:
    setup = create_engine_for(store_url)
    org, user = org_and_user(setup)
    jobs = set(add_jobs(setup, org, user, 24))
    setup.dispose()
    claimed: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def claimer(name: str) -> None:
        engine = create_engine_for(store_url)
        mine: list[str] = []
        try:
            start.wait()
            while (got := claim(engine, name)) is not None:
                mine.append(got.job_id)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            claimed[name] = mine
            engine.dispose()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    every = [job for mine in claimed.values() for job in mine]
    assert len(every) == len(set(every)) == len(jobs)
    assert set(every) == jobs
