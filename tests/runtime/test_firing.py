"""Firing due definitions on SQLite and PostgreSQL: once per time, overlap, catch-up, failures."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rows import EVERY_MINUTE, add_definition, add_deployment, add_job, local_spec, org_and_user
from sqlalchemy import Engine, select

from scorecast.domain.schedule.firing_plan import MAX_RECORDED_MISSES
from scorecast.service.firing import Outage, fire_due_definitions, next_due_time
from scorecast.store.db import create_engine_for, session_scope
from scorecast.store.models import Deployment, Job, JobDefinition, JobLog, ScheduleFire

NOW = datetime(2026, 3, 2, 12, 0, 20, tzinfo=UTC)
CATCH_UP_WINDOW = timedelta(hours=1)  # the default catch-up window
EVERY_TEN = {**EVERY_MINUTE, "minute": [0, 10, 20, 30, 40, 50]}
DAILY_NOON = {**EVERY_MINUTE, "minute": [0], "hour": [12]}


def scheduled(
    engine: Engine, schedule: dict[str, Any], next_time: datetime, org_name: str = "org-a"
) -> str:
    org, user = org_and_user(engine, org_name)
    deployment = add_deployment(engine, org, user)
    return add_definition(
        engine,
        org,
        user,
        enabled=True,
        schedule=schedule,
        job_spec=local_spec(deployment),
        next_scheduled_run_time=next_time,
    )


def fire(engine: Engine, now: datetime = NOW) -> list[Any]:
    with session_scope(engine, immediate=True) as session:
        return fire_due_definitions(session, now)


def rows(engine: Engine, definition_id: str) -> tuple[list[ScheduleFire], list[Job], JobDefinition]:
    with session_scope(engine) as session:
        fires = session.scalars(
            select(ScheduleFire)
            .where(ScheduleFire.definition_id == definition_id)
            .order_by(ScheduleFire.scheduled_time)
        ).all()
        jobs = session.scalars(select(Job).where(Job.definition_id == definition_id)).all()
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        return list(fires), list(jobs), definition


def test_a_due_definition_fires_once_and_moves_to_its_next_time(engine: Engine) -> None:
    due = NOW.replace(second=0)
    definition_id = scheduled(engine, EVERY_MINUTE, due)
    [result] = fire(engine)
    assert result.outcome == "started" and result.scheduled_time == due
    fires, jobs, definition = rows(engine, definition_id)
    assert [(f.outcome, f.scheduled_time, f.job_id) for f in fires] == [
        ("started", due, jobs[0].id)
    ]
    [job] = jobs
    assert (job.source, job.scheduled_time, job.status) == ("scheduled", due, "INITIALIZING")
    assert definition.last_scheduled_run_time == due
    assert definition.last_started_job_status == "INITIALIZING"
    assert definition.next_scheduled_run_time == due + timedelta(minutes=1)
    assert fire(engine) == []  # the same moment again: nothing is due
    assert len(rows(engine, definition_id)[1]) == 1


def test_nothing_fires_before_its_time_or_when_disabled(engine: Engine) -> None:
    later = scheduled(engine, EVERY_MINUTE, NOW + timedelta(seconds=40))
    assert fire(engine) == []
    with session_scope(engine) as session:
        assert next_due_time(session, NOW) == NOW + timedelta(seconds=40)
        definition = session.get(JobDefinition, later)
        assert definition is not None
        definition.next_scheduled_run_time = NOW - timedelta(seconds=5)
        definition.enabled = False
    assert fire(engine) == []
    with session_scope(engine) as session:
        assert next_due_time(session, NOW) is None


def test_a_stale_scheduler_cannot_fire_the_same_time_twice(engine: Engine) -> None:
    """A scheduler that read the definition before the other one fired it (or a restart that
    lost its transaction's outcome) hits the fire row's unique key: no second job."""
    due = NOW.replace(second=0)
    definition_id = scheduled(engine, EVERY_MINUTE, due)
    fire(engine)
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        definition.next_scheduled_run_time = due  # as the stale scheduler still sees it
    assert fire(engine) == []
    fires, jobs, _ = rows(engine, definition_id)
    assert len(fires) == 1 and len(jobs) == 1


def test_concurrent_schedulers_fire_a_time_once(store_url: str) -> None:
    setup = create_engine_for(store_url)
    due = NOW.replace(second=0)
    definition_ids = [scheduled(setup, EVERY_MINUTE, due, f"org-{i}") for i in range(3)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def scheduler() -> None:
        engine = create_engine_for(store_url)
        try:
            barrier.wait()
            for _ in range(3):
                fire(engine)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for definition_id in definition_ids:
        fires, jobs, definition = rows(setup, definition_id)
        assert [f.outcome for f in fires] == ["started"]
        assert len(jobs) == 1
        assert definition.next_scheduled_run_time == due + timedelta(minutes=1)
    setup.dispose()


@pytest.mark.parametrize("status", ["INITIALIZING", "RUNNING"])
def test_a_fire_during_the_previous_run_is_skipped_with_its_reason(
    engine: Engine, status: str
) -> None:
    due = NOW.replace(second=0)
    definition_id = scheduled(engine, EVERY_MINUTE, due)
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        org, user = definition.org_id, definition.created_by
    previous = add_job(engine, org, user, definition_id=definition_id, status=status)
    [result] = fire(engine)
    assert result.outcome == "skipped" and result.job_id is None
    assert result.reason is not None and previous in result.reason and status in result.reason
    fires, jobs, definition = rows(engine, definition_id)
    assert [f.outcome for f in fires] == ["skipped"] and fires[0].reason == result.reason
    assert [j.id for j in jobs] == [previous]
    assert definition.next_scheduled_run_time == due + timedelta(minutes=1)
    with session_scope(engine) as session:
        job = session.get(Job, previous)
        assert job is not None
        job.status = "COMPLETED"
    [after] = fire(engine, NOW + timedelta(minutes=1))
    assert after.outcome == "started"


def test_after_a_short_downtime_the_latest_fire_runs_once(engine: Engine) -> None:
    first = NOW.replace(minute=0, second=0) - timedelta(minutes=40)  # 11:20
    definition_id = scheduled(engine, EVERY_TEN, first)
    results = fire(engine)
    assert [r.outcome for r in results] == ["missed"] * 4 + ["started"]
    fires, jobs, definition = rows(engine, definition_id)
    assert [f.scheduled_time.minute for f in fires] == [20, 30, 40, 50, 0]
    assert [f.outcome for f in fires] == ["missed"] * 4 + ["started"]
    assert all("no scheduler was running" in (f.reason or "") for f in fires[:4])
    assert len(jobs) == 1 and jobs[0].scheduled_time == NOW.replace(second=0)
    assert definition.next_scheduled_run_time == NOW.replace(minute=10, second=0)


def test_fires_missed_during_a_database_outage_say_so(engine: Engine) -> None:
    """A scheduler that lived through the outage says the database was unreachable, not that
    no scheduler was running; times outside the outage keep the general reason."""
    first = NOW.replace(minute=0, second=0) - timedelta(minutes=40)  # 11:20
    definition_id = scheduled(engine, EVERY_TEN, first)
    outage = Outage(first + timedelta(minutes=5), NOW)  # 11:25 to now
    with session_scope(engine, immediate=True) as session:
        results = fire_due_definitions(session, NOW, outage=outage)
    assert [r.outcome for r in results] == ["missed"] * 4 + ["started"]
    fires, _, _ = rows(engine, definition_id)
    reasons = [f.reason or "" for f in fires[:4]]
    assert "no scheduler was running" in reasons[0]  # 11:20, before the outage
    for reason in reasons[1:]:
        assert "could not reach its database from" in reason, reason
        assert "no scheduler was running" not in reason


def test_a_fire_more_than_an_hour_late_is_recorded_missed(engine: Engine) -> None:
    last_due = NOW.replace(minute=0, second=0)
    definition_id = scheduled(engine, DAILY_NOON, last_due)
    results = fire(engine, last_due + CATCH_UP_WINDOW + timedelta(seconds=1))
    assert [r.outcome for r in results] == ["missed"]
    fires, jobs, definition = rows(engine, definition_id)
    assert jobs == [] and "more than one hour late" in (fires[0].reason or "")
    assert definition.next_scheduled_run_time == last_due + timedelta(days=1)
    assert definition.last_scheduled_run_time is None


def test_a_long_downtime_records_recent_misses_and_sums_up_the_rest(engine: Engine) -> None:
    start = NOW.replace(second=0) - timedelta(days=1)
    definition_id = scheduled(engine, EVERY_MINUTE, start)
    results = fire(engine)
    fires, jobs, definition = rows(engine, definition_id)
    assert len(fires) == MAX_RECORDED_MISSES + 2 == len(results)
    summary = fires[0]
    assert summary.scheduled_time == start and summary.outcome == "missed"
    assert summary.reason is not None and summary.reason.startswith(
        f"{24 * 60 + 1 - MAX_RECORDED_MISSES - 1} fires from"
    )
    assert [f.outcome for f in fires[1:]] == ["missed"] * MAX_RECORDED_MISSES + ["started"]
    assert len(jobs) == 1
    assert definition.next_scheduled_run_time == NOW.replace(second=0) + timedelta(minutes=1)


def test_a_fire_whose_job_cannot_be_created_is_recorded_failed(engine: Engine) -> None:
    due = NOW.replace(second=0)
    definition_id = scheduled(engine, EVERY_MINUTE, due)
    with session_scope(engine) as session:
        for deployment in session.scalars(select(Deployment)).all():
            session.delete(deployment)
    [result] = fire(engine)
    assert result.outcome == "failed" and "deployment" in (result.reason or "").lower()
    fires, jobs, definition = rows(engine, definition_id)
    assert jobs == [] and fires[0].outcome == "failed"
    assert definition.last_failed_run_time == NOW
    assert definition.next_scheduled_run_time == due + timedelta(minutes=1)


def test_the_scheduler_makes_its_job_ids_in_the_layout_of_new_id(engine: Engine) -> None:
    """The database makes the ids of scheduled jobs: 24 hex digits, the current second first."""
    org, user = org_and_user(engine, "org-a")
    deployment = add_deployment(engine, org, user)
    now = datetime.now(UTC).replace(microsecond=0)
    definitions = {
        add_definition(
            engine,
            org,
            user,
            name=f"nightly {index}",
            enabled=True,
            schedule=EVERY_MINUTE,
            job_spec=local_spec(deployment),
            next_scheduled_run_time=now,
        )
        for index in range(50)
    }
    before = int(time.time())
    with session_scope(engine, immediate=True) as session:
        fired = fire_due_definitions(session, now)
    after = int(time.time())
    assert {fire.definition_id for fire in fired} == definitions
    with session_scope(engine) as session:
        jobs = session.scalars(select(Job.id).where(Job.definition_id.in_(definitions))).all()
        fire_jobs = session.scalars(select(ScheduleFire.job_id)).all()
        logged = session.scalars(select(JobLog.job_id)).all()
    assert len(set(jobs)) == 50 and all(re.fullmatch("[0-9a-f]{24}", job) for job in jobs)
    assert all(before <= int(job[:8], 16) <= after for job in jobs)
    # a run of 50 consecutive numbers of the process's id sequence (wrapping at its span)
    numbers = sorted(int(job[8:14], 16) for job in jobs)
    wraps = numbers[-1] - numbers[0] != 49
    assert wraps or numbers == list(range(numbers[0], numbers[0] + 50)), numbers
    assert set(fire_jobs) == set(jobs) and set(logged) == set(jobs)
