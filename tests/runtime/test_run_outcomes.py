"""Retry and auto-disable on SQLite and PostgreSQL: a failed fire's next attempts, its outcome
on record, and a definition disabled after too many failed fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from policy_rows import (  # noqa: F401 (root_fixture is the root fixture)
    claim,
    complete,
    definition_row,
    fail,
    fire,
    fire_row,
    jobs_of,
    policy_definition,
    root_fixture,
)
from sqlalchemy import Engine, update

from scorecast.service.caller import Caller
from scorecast.service.definitions import delete_definition, update_definition
from scorecast.service.jobs import abort_job
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition, User

T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_a_failed_fire_is_retried_with_backoff_until_its_attempts_are_used(
    engine: Engine, root: Path
) -> None:
    retry = {"maxAttempts": 3, "delaySeconds": 60, "backoffFactor": 2}
    definition_id = policy_definition(engine, root, retry=retry)
    first = fire(engine, definition_id, T)
    got = claim(engine, T)
    assert got is not None and got.job_id == first
    fail(engine, got, T + timedelta(seconds=5))

    [_, second] = jobs_of(engine, definition_id)
    assert (second.source, second.scheduled_time, second.fire_attempt) == ("scheduled", T, 2)
    assert second.retry_of == first and second.status == "INITIALIZING"
    assert second.not_before == T + timedelta(seconds=65)
    row = fire_row(engine, definition_id, T)
    assert (row.outcome, row.job_id) == ("retried", second.id)
    assert first in (row.reason or "") and second.id in (row.reason or "")

    assert claim(engine, T + timedelta(seconds=64)) is None  # not before its time
    got = claim(engine, T + timedelta(seconds=65))
    assert got is not None and got.job_id == second.id
    fail(engine, got, T + timedelta(seconds=70))
    third = jobs_of(engine, definition_id)[-1]
    assert third.fire_attempt == 3 and third.not_before == T + timedelta(seconds=190)

    got = claim(engine, T + timedelta(seconds=190))
    assert got is not None and got.job_id == third.id
    fail(engine, got, T + timedelta(seconds=200))
    assert len(jobs_of(engine, definition_id)) == 3  # three attempts in all
    row = fire_row(engine, definition_id, T)
    assert (row.outcome, row.job_id) == ("failed", third.id)
    assert "attempt 3" in (row.reason or "")


def test_a_retry_that_completes_leaves_the_fire_retried(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(
        engine, root, retry={"maxAttempts": 2, "delaySeconds": 0, "backoffFactor": 1}
    )
    fire(engine, definition_id, T)
    got = claim(engine, T)
    assert got is not None
    fail(engine, got, T)
    got = claim(engine, T)
    assert got is not None
    complete(engine, got, T + timedelta(seconds=1))
    row = fire_row(engine, definition_id, T)
    assert row.outcome == "retried" and "attempt 2" in (row.reason or "")
    assert "completed" in (row.reason or "")
    assert definition_row(engine, definition_id).last_started_job_status == "COMPLETED"


def test_no_two_attempts_of_a_fire_ever_wait_or_run_together(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(
        engine, root, retry={"maxAttempts": 5, "delaySeconds": 0, "backoffFactor": 1}
    )
    fire(engine, definition_id, T)
    for _ in range(5):
        active = [
            j for j in jobs_of(engine, definition_id) if j.status in ("INITIALIZING", "RUNNING")
        ]
        assert len(active) == 1
        got = claim(engine, T)
        assert got is not None
        fail(engine, got, T)
    assert {j.status for j in jobs_of(engine, definition_id)} == {"FAILED"}


def test_a_users_abort_is_not_retried(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(
        engine, root, retry={"maxAttempts": 3, "delaySeconds": 0, "backoffFactor": 1}
    )
    job_id = fire(engine, definition_id, T)
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        user = session.get(User, job.created_by)
        assert user is not None
        caller = Caller(user.org_id, user.id, user.username, None, True)
        abort_job(session, caller, job_id)
    assert [j.status for j in jobs_of(engine, definition_id)] == ["ABORTED"]
    assert fire_row(engine, definition_id, T).outcome == "started"
    # the same with a running job: its worker ends it after the abort request
    second = fire(engine, definition_id, T + timedelta(minutes=1))
    got = claim(engine, T + timedelta(minutes=1))
    assert got is not None and got.job_id == second
    with session_scope(engine) as session:
        session.execute(update(Job).where(Job.id == second).values(abort_requested=True))
    fail(engine, got, T + timedelta(minutes=1), status="ABORTED")
    assert len(jobs_of(engine, definition_id)) == 2


@pytest.mark.parametrize("how", ["disabled", "deleted"])
def test_a_waiting_retry_ends_when_its_definition_is_disabled_or_deleted(
    engine: Engine, root: Path, how: str
) -> None:
    definition_id = policy_definition(
        engine, root, retry={"maxAttempts": 3, "delaySeconds": 600, "backoffFactor": 1}
    )
    first = fire(engine, definition_id, T)
    got = claim(engine, T)
    assert got is not None
    fail(engine, got, T)
    [_, waiting] = jobs_of(engine, definition_id)
    assert waiting.status == "INITIALIZING"
    with session_scope(engine) as session:
        definition = definition_row(engine, definition_id)
        user = session.get(User, definition.created_by)
        assert user is not None
        caller = Caller(user.org_id, user.id, user.username, None, True)
        if how == "disabled":
            update_definition(session, caller, definition_id, {"enabled": False})
        else:
            delete_definition(session, caller, definition_id)
    with session_scope(engine) as session:
        retry = session.get(Job, waiting.id)
        assert retry is not None and retry.status == "ABORTED"
        assert f"the definition was {how} by" in (retry.status_details or "")
        assert session.get(Job, first) is not None
    assert claim(engine, T + timedelta(hours=1)) is None  # never runs
    if how == "disabled":
        row = fire_row(engine, definition_id, T)
        assert (row.outcome, row.job_id) == ("failed", waiting.id)
        assert "cancelled" in (row.reason or "")


@pytest.mark.parametrize("how", ["disabled", "deleted"])
def test_a_retry_the_cancel_missed_ends_when_a_worker_finds_it(
    engine: Engine, root: Path, how: str
) -> None:
    """The cancel skips a retry a claim holds (``SKIP LOCKED``); when that claim rolls back,
    the retry is still waiting on a disabled or deleted definition: it must not run."""
    definition_id = policy_definition(
        engine, root, retry={"maxAttempts": 3, "delaySeconds": 60, "backoffFactor": 1}
    )
    fire(engine, definition_id, T)
    got = claim(engine, T)
    assert got is not None
    fail(engine, got, T)
    [_, waiting] = jobs_of(engine, definition_id)
    with session_scope(engine) as session:  # what the cancel leaves when it skipped the retry
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        if how == "disabled":
            definition.enabled = False
        else:
            session.delete(definition)
    assert claim(engine, T + timedelta(hours=1)) is None
    with session_scope(engine) as session:
        retry = session.get(Job, waiting.id)
        assert retry is not None and retry.status == "ABORTED"
        assert f"the definition was {how}" in (retry.status_details or "")
    if how == "disabled":
        row = fire_row(engine, definition_id, T)
        assert (row.outcome, row.job_id) == ("failed", waiting.id)


def test_abort_on_error_is_a_failure_and_is_retried(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(
        engine, root, retry={"maxAttempts": 2, "delaySeconds": 0, "backoffFactor": 1}
    )
    fire(engine, definition_id, T)
    got = claim(engine, T)
    assert got is not None
    fail(engine, got, T, status="ABORTED")  # abortOnError: no abort was requested
    assert len(jobs_of(engine, definition_id)) == 2


def test_consecutive_failed_fires_disable_the_definition(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(engine, root, autoDisableAfterFailures=2)
    moments = [T + timedelta(minutes=i) for i in range(4)]
    outcomes = ["fail", "complete", "fail", "fail"]
    for moment, outcome in zip(moments, outcomes, strict=True):
        assert definition_row(engine, definition_id).enabled
        fire(engine, definition_id, moment)
        got = claim(engine, moment)
        assert got is not None
        if outcome == "fail":
            fail(engine, got, moment + timedelta(seconds=10))
        else:
            complete(engine, got, moment + timedelta(seconds=10))
    definition = definition_row(engine, definition_id)
    assert not definition.enabled and definition.next_scheduled_run_time is None
    assert definition.disabled_reason is not None
    assert "2 consecutive failed runs" in definition.disabled_reason
    assert "the input is missing" in definition.disabled_reason
    assert [fire_row(engine, definition_id, m).outcome for m in moments] == [
        "failed",
        "started",
        "failed",
        "failed",
    ]


def test_a_queued_run_that_completes_breaks_the_series(engine: Engine, root: Path) -> None:
    """With ``overlapPolicy: queue`` a run that completes can be a ``queued`` fire: it breaks
    the series of failures as a ``started`` one does (it was passed over, so fail, complete,
    fail disabled the definition at 2)."""
    definition_id = policy_definition(
        engine, root, autoDisableAfterFailures=2, overlapPolicy="queue"
    )
    moments = [T + timedelta(minutes=i) for i in range(3)]
    for moment, outcome, kind in zip(
        moments, ["fail", "complete", "fail"], ["started", "queued", "started"], strict=True
    ):
        fire(engine, definition_id, moment, outcome=kind)
        got = claim(engine, moment)
        assert got is not None
        if outcome == "fail":
            fail(engine, got, moment + timedelta(seconds=10))
        else:
            complete(engine, got, moment + timedelta(seconds=10))
    assert definition_row(engine, definition_id).enabled
    assert [fire_row(engine, definition_id, m).outcome for m in moments] == [
        "failed",
        "queued",
        "failed",
    ]


def test_enabling_again_starts_the_count_afresh(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(engine, root, autoDisableAfterFailures=2)
    for minute in range(2):
        moment = T + timedelta(minutes=minute)
        fire(engine, definition_id, moment)
        got = claim(engine, moment)
        assert got is not None
        fail(engine, got, moment)
    assert not definition_row(engine, definition_id).enabled
    with session_scope(engine) as session:
        definition = definition_row(engine, definition_id)
        user = session.get(User, definition.created_by)
        assert user is not None
        caller = Caller(user.org_id, user.id, user.username, None, True)
        update_definition(session, caller, definition_id, {"enabled": True})
    definition = definition_row(engine, definition_id)
    assert definition.enabled and definition.disabled_reason is None
    later = datetime.now(UTC) + timedelta(minutes=5)
    fire(engine, definition_id, later)
    got = claim(engine, later)
    assert got is not None
    fail(engine, got, later)
    assert definition_row(engine, definition_id).enabled  # one failure since enabled again


def test_without_the_policy_nothing_is_disabled_or_retried(engine: Engine, root: Path) -> None:
    definition_id = policy_definition(engine, root)
    for minute in range(5):
        moment = T + timedelta(minutes=minute)
        fire(engine, definition_id, moment)
        got = claim(engine, moment)
        assert got is not None
        fail(engine, got, moment)
    assert definition_row(engine, definition_id).enabled
    assert len(jobs_of(engine, definition_id)) == 5


def test_fires_that_failed_without_a_run_count_too(engine: Engine, root: Path) -> None:
    from scorecast.service.run_outcomes import fire_failed
    from scorecast.store.models import JobDefinition, ScheduleFire

    definition_id = policy_definition(engine, root, autoDisableAfterFailures=2)
    for minute in range(2):
        with session_scope(engine) as session:
            definition = session.get(JobDefinition, definition_id)
            assert definition is not None and definition.enabled
            session.add(
                ScheduleFire(
                    definition_id=definition_id,
                    scheduled_time=T + timedelta(minutes=minute),
                    fired_at=T + timedelta(minutes=minute),
                    outcome="failed",
                    reason="deployment not found",
                )
            )
            fire_failed(session, definition, T, "deployment not found")
    definition = definition_row(engine, definition_id)
    assert not definition.enabled
    assert "deployment not found" in (definition.disabled_reason or "")
