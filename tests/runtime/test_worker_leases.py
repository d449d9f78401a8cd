"""The worker's heartbeat tells a job its own job process ended from a lost lease (both stores).

Every finished job used to log ``WARNING … lease lost; stopping it``: between the job process
ending the job in the store and the worker hearing of it, the heartbeat no longer found the job
owned. Here the heartbeat runs at exactly that moment, and once after another worker took a job.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from rows import add_job, org_and_user
from sqlalchemy import Engine

from scorecast.config import Settings
from scorecast.domain.job_claim import Claim, ProgressUpdate
from scorecast.runtime.store_ledger import StoreLedger
from scorecast.runtime.worker import Worker, _Running
from scorecast.service.claims import claim_next_job
from scorecast.store.db import session_scope
from scorecast.store.types import utcnow

LEASE = 30.0
LOST = "lease lost"


def _claim(engine: Engine, worker_id: str, *, later: float = 0.0) -> Claim:
    with session_scope(engine, immediate=True) as session:
        claim = claim_next_job(session, worker_id, utcnow() + timedelta(seconds=later), LEASE)
    assert claim is not None
    return claim


def _running(worker: Worker, claim: Claim, settings: Settings, engine: Engine) -> _Running:
    running = _Running(claim, ledger=StoreLedger(settings, engine, claim))
    worker._running[claim.job_id] = running
    return running


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("ending", ["finish", "fail"])
def test_a_job_its_process_ended_is_not_a_lost_lease(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture, ending: str
) -> None:
    org, user = org_and_user(engine)
    add_job(engine, org, user)
    worker = Worker(settings, engine, lease_seconds=LEASE)
    claim = _claim(engine, worker.worker_id)
    running = _running(worker, claim, settings, engine)
    assert running.ledger is not None
    if ending == "finish":
        assert running.ledger.finish("500 rows scored", ProgressUpdate(percentage=100.0))
    else:
        running.ledger.fail("FAILED", "the input is empty", None)
    with caplog.at_level(logging.DEBUG, logger="scorecast"):
        worker._heartbeat_once()
    assert running.lost  # the job is over for this worker either way
    assert [m for m in _warnings(caplog) if LOST in m] == []


def test_a_job_another_worker_took_is_a_lost_lease(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    org, user = org_and_user(engine)
    job_id = add_job(engine, org, user)
    worker = Worker(settings, engine, lease_seconds=LEASE)
    claim = _claim(engine, worker.worker_id)
    running = _running(worker, claim, settings, engine)
    _claim(engine, "another worker", later=LEASE + 1)  # the lease expired; it was taken
    with caplog.at_level(logging.DEBUG, logger="scorecast"):
        worker._heartbeat_once()
        worker._heartbeat_once()  # said once
    assert running.lost
    assert [m for m in _warnings(caplog) if LOST in m] == [f"job {job_id}: {LOST}; stopping it"]
    assert running.ledger is not None
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="scorecast"):
        assert not running.ledger.finish("late", ProgressUpdate())  # its late end changes nothing
    assert [m for m in _warnings(caplog) if LOST in m] == [f"job {job_id}: {LOST}; stopping it"]
