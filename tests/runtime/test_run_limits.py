"""timeoutSeconds and expectedDurationSeconds on SQLite and PostgreSQL: a run past its timeout
is aborted "timed out" (also when its worker is gone), a slow run is reported once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from policy_rows import (  # noqa: F401 (root_fixture is the root fixture)
    claim,
    fail,
    fire,
    fire_row,
    job_row,
    jobs_of,
    policy_definition,
    root_fixture,
)
from sqlalchemy import Engine

from scorecast.domain.events import EventType
from scorecast.service.claims import claim_next_job, heartbeat
from scorecast.service.run_limits import enforce_run_limits, limits_reached
from scorecast.store.db import session_scope

T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def enforce(engine: Engine, now: datetime) -> list[tuple[str, EventType]]:
    with session_scope(engine) as session:
        return [(r.job_id, r.event) for r in enforce_run_limits(session, now)]


def test_a_run_past_its_timeout_is_aborted_as_timed_out(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(engine, root, timeoutSeconds=60)
    job_id = fire(engine, definition_id, T)
    got = claim(engine, T)
    assert got is not None
    assert enforce(engine, T + timedelta(seconds=60)) == []  # not yet past it
    with session_scope(engine, deferred=True) as session:
        assert limits_reached(session, T + timedelta(seconds=61))
    assert enforce(engine, T + timedelta(seconds=61)) == [(job_id, EventType.TIMED_OUT)]
    assert enforce(engine, T + timedelta(seconds=62)) == []  # once
    row = job_row(engine, job_id)
    assert row.abort_requested and row.abort_reason == "timed out"
    with session_scope(engine) as session:  # the worker's heartbeat sees the abort
        assert heartbeat(session, "w1", [got], T + timedelta(seconds=62), 30.0) == {job_id: True}
    # its run stops on the abort signal and reports "aborted on request"
    with session_scope(engine) as session:
        from scorecast.service.claims import end_with_failure

        end_with_failure(session, got, "ABORTED", "aborted on request", T + timedelta(seconds=63))
    row = job_row(engine, job_id)
    assert row.status == "ABORTED" and row.status_details.endswith(": timed out")


def test_a_timed_out_run_counts_as_failed_and_is_retried(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(
        engine,
        root,
        timeoutSeconds=10,
        retry={"maxAttempts": 2, "delaySeconds": 0, "backoffFactor": 1},
    )
    fire(engine, definition_id, T)
    got = claim(engine, T)
    assert got is not None
    enforce(engine, T + timedelta(seconds=11))
    fail(engine, got, T + timedelta(seconds=12), status="ABORTED")
    first, second = jobs_of(engine, definition_id)
    assert first.status == "ABORTED" and second.fire_attempt == 2
    assert fire_row(engine, definition_id, T).outcome == "retried"


def test_a_timed_out_run_whose_worker_died_ends_when_its_lease_runs_out(
    engine: Engine, root: Path
) -> None:
    definition_id = policy_definition(engine, root, timeoutSeconds=10)
    job_id = fire(engine, definition_id, T)
    assert claim(engine, T) is not None  # its worker then dies: no heartbeat, no finish
    enforce(engine, T + timedelta(seconds=11))
    with session_scope(engine, immediate=True) as session:
        assert claim_next_job(session, "w2", T + timedelta(seconds=60), 30.0) is None
    row = job_row(engine, job_id)
    assert row.status == "ABORTED" and "timed out" in row.status_details


def test_a_slow_run_is_reported_once(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(engine, root, expectedDurationSeconds=30)
    job_id = fire(engine, definition_id, T)
    assert claim(engine, T) is not None
    assert enforce(engine, T + timedelta(seconds=30)) == []
    assert enforce(engine, T + timedelta(seconds=31)) == [(job_id, EventType.SLOW)]
    assert enforce(engine, T + timedelta(seconds=90)) == []
    row = job_row(engine, job_id)
    assert row.slow_reported and not row.abort_requested and row.status == "RUNNING"


def test_runs_without_limits_and_waiting_runs_are_left_alone(engine: Engine, root: Path) -> None:
    free = policy_definition(engine, root)
    fire(engine, free, T)
    assert claim(engine, T) is not None
    assert enforce(engine, T + timedelta(days=30)) == []
    with session_scope(engine, deferred=True) as session:
        assert not limits_reached(session, T + timedelta(days=30))


def test_workers_checking_at_once_act_once(engine: Engine, root: Path) -> None:
    import threading

    definition_id = policy_definition(engine, root, timeoutSeconds=5, expectedDurationSeconds=5)
    ids = [fire(engine, definition_id, T + timedelta(minutes=i)) for i in range(3)]
    for _ in ids:
        assert claim(engine, T) is not None
    barrier = threading.Barrier(3)
    found: list[tuple[str, EventType]] = []
    lock = threading.Lock()

    def check() -> None:
        barrier.wait()
        got = enforce(engine, T + timedelta(hours=1))
        with lock:
            found.extend(got)

    threads = [threading.Thread(target=check) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    expected = [(job_id, kind) for job_id in ids for kind in (EventType.TIMED_OUT, EventType.SLOW)]
    assert sorted(found) == sorted(expected)
