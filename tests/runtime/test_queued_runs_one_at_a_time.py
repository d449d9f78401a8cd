"""``overlapPolicy: queue`` with concurrent claimers, on SQLite and PostgreSQL: runs queued
behind a run that has ended start one at a time, the oldest first, however many workers claim
at once (PostgreSQL's ``SKIP LOCKED`` must not let a claimer pass over a queued run another
claimer holds and start the next one)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from policy_rows import LEASE, claim, complete
from sqlalchemy import Engine
from test_firing_policies import T0, definition, fire_alive, fires, jobs

from scorecast.domain.job_claim import Claim
from scorecast.service.claims import claim_next_job
from scorecast.store.db import session_scope
from scorecast.store.models import Job

#: How long a thread waits for another before the test gives up (never reached when it passes).
DEADLINE = 60.0
CLAIMERS = 8
NOW = T0 + timedelta(minutes=2, seconds=2)


def two_queued_runs(engine: Engine) -> tuple[str, str, str]:
    """A queue-policy definition whose 12:00 run ended before either of the runs queued behind
    it (12:01, 12:02) was claimed; (definition id, 12:01 job id, 12:02 job id)."""
    definition_id = definition(engine, overlapPolicy="queue")
    [first] = fire_alive(engine, T0 + timedelta(seconds=1))
    running = claim(engine, T0 + timedelta(seconds=2))
    assert running is not None and running.job_id == first.job_id
    [second] = fire_alive(engine, T0 + timedelta(minutes=1, seconds=1))
    complete(engine, running, T0 + timedelta(minutes=1, seconds=30))
    [third] = fire_alive(engine, T0 + timedelta(minutes=2, seconds=1))
    assert [outcome for _, outcome, _ in fires(engine, definition_id)] == [
        "started",
        "queued",
        "queued",
    ]
    return definition_id, second.job_id, third.job_id


def claim_at_once(engine: Engine, claimers: int) -> list[Claim]:
    """What ``claimers`` threads, each in its own transaction, claimed when let go together."""
    start = threading.Barrier(claimers)

    def one(worker: str) -> Claim | None:
        start.wait(DEADLINE)
        with session_scope(engine, immediate=True) as session:
            return claim_next_job(session, worker, NOW, LEASE)

    with ThreadPoolExecutor(claimers) as pool:
        futures = [pool.submit(one, f"worker-{n}") for n in range(claimers)]
        answers = [future.result(DEADLINE) for future in futures]
    return [answer for answer in answers if answer is not None]


def statuses(engine: Engine, definition_id: str) -> dict[int, str]:
    return {minute: job.status for minute, job in jobs(engine, definition_id).items()}


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_claimer_does_not_pass_over_a_queued_run_another_claimer_holds(engine: Engine) -> None:
    """The first claimer holds the 12:01 run, claimed and not committed yet, while the second
    claims: the second must not start the 12:02 run."""
    definition_id, second, _ = two_queued_runs(engine)
    held = threading.Event()
    answered = threading.Event()

    def first_claimer() -> Claim | None:
        with session_scope(engine) as session:
            got = claim_next_job(session, "worker-1", NOW, LEASE)
            held.set()
            # a claimer that waited for this transaction instead of answering would be as right:
            # this one commits after the deadline then, and the assertions below still hold
            answered.wait(DEADLINE)
            return got

    def second_claimer() -> Claim | None:
        try:
            assert held.wait(DEADLINE)
            with session_scope(engine) as session:
                return claim_next_job(session, "worker-2", NOW, LEASE)
        finally:
            answered.set()

    claimers: list[Callable[[], Claim | None]] = [first_claimer, second_claimer]
    with ThreadPoolExecutor(len(claimers)) as pool:
        futures = [pool.submit(claimer) for claimer in claimers]
        first, other = (future.result(DEADLINE) for future in futures)

    assert first is not None and first.job_id == second
    assert other is None
    assert statuses(engine, definition_id) == {0: "COMPLETED", 1: "RUNNING", 2: "INITIALIZING"}


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_concurrent_claimers_start_the_queued_runs_one_at_a_time_oldest_first(
    engine: Engine,
) -> None:
    definition_id, second, third = two_queued_runs(engine)

    [got] = claim_at_once(engine, CLAIMERS)
    assert got.job_id == second
    assert statuses(engine, definition_id) == {0: "COMPLETED", 1: "RUNNING", 2: "INITIALIZING"}

    complete(engine, got, NOW + timedelta(seconds=10))
    [got] = claim_at_once(engine, CLAIMERS)
    assert got.job_id == third
    assert statuses(engine, definition_id) == {0: "COMPLETED", 1: "COMPLETED", 2: "RUNNING"}


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_queued_run_waits_behind_an_earlier_queued_run_still_waiting(engine: Engine) -> None:
    """The 12:01 run waits for its input: the 12:02 run queued behind it does not go first."""
    definition_id, second, _ = two_queued_runs(engine)
    with session_scope(engine) as session:
        waiting = session.get(Job, second)
        assert waiting is not None
        waiting.intake_ready = False

    assert claim(engine, NOW) is None
    assert statuses(engine, definition_id) == {
        0: "COMPLETED",
        1: "INITIALIZING",
        2: "INITIALIZING",
    }


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_an_earlier_run_whose_abort_was_asked_holds_nothing_back(engine: Engine) -> None:
    """A waiting job with ``abort_requested`` never runs (a clean stop before this release
    could leave one so): the run queued behind it goes."""
    _, second, third = two_queued_runs(engine)
    with session_scope(engine) as session:
        stuck = session.get(Job, second)
        assert stuck is not None
        stuck.abort_requested = True

    got = claim(engine, NOW)
    assert got is not None and got.job_id == third
