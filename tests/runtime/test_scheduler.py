"""The scheduler loop's tick on both stores, with a clock the test controls."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from rows import EVERY_MINUTE, add_definition, add_deployment, local_spec, org_and_user
from sqlalchemy import Engine, select

from scorecast.config import Settings
from scorecast.errors import InvalidInput
from scorecast.runtime.scheduler import Scheduler, lane_id
from scorecast.service.firing import Fire
from scorecast.store.db import session_scope
from scorecast.store.models import Job, SchedulerHeartbeat
from scorecast.testing.due_definitions import add_due_definitions

START = datetime(2026, 5, 4, 9, 59, 30, tzinfo=UTC)
#: definitions due on one moment for the lanes' test: many batches of 20 for two lanes
DUE_TOGETHER = 400


def test_ticks_fire_each_minute_once_and_report_it(engine: Engine) -> None:
    org, user = org_and_user(engine)
    deployment = add_deployment(engine, org, user)
    definition = add_definition(
        engine,
        org,
        user,
        enabled=True,
        schedule=EVERY_MINUTE,
        job_spec=local_spec(deployment),
        next_scheduled_run_time=START + timedelta(seconds=30),
    )
    now = [START]
    heard: list[Fire] = []
    scheduler = Scheduler(engine, clock=lambda: now[0], on_fire=heard.append)
    assert scheduler.tick() == []  # 30 s early
    assert scheduler._pause() == 1.0  # sleeps at most max_sleep
    now[0] = START + timedelta(seconds=30, milliseconds=200)
    [fired] = scheduler.tick()
    assert fired.outcome == "started" and heard == [fired]
    assert scheduler.tick() == []  # the same minute does not fire again
    assert 0.05 <= scheduler._pause() <= 1.0
    with session_scope(engine) as session:
        jobs = session.scalars(select(Job).where(Job.definition_id == definition)).all()
        assert len(jobs) == 1
        jobs[0].status = "COMPLETED"
    now[0] = START + timedelta(seconds=90)
    [second] = scheduler.tick()
    assert second.scheduled_time == START + timedelta(seconds=90)
    assert [f.outcome for f in heard] == ["started", "started"]


def test_a_batch_logs_one_line_for_its_runs_and_a_warning_per_fire_that_ran_nothing(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    org, user = org_and_user(engine)
    deployment = add_deployment(engine, org, user)
    due = START + timedelta(seconds=30)
    started = [
        add_definition(
            engine,
            org,
            user,
            name=f"hourly {index}",
            enabled=True,
            schedule=EVERY_MINUTE,
            job_spec=local_spec(deployment),
            next_scheduled_run_time=due,
        )
        for index in range(3)
    ]
    failing = add_definition(  # its deployment does not exist: the fire fails
        engine,
        org,
        user,
        name="orphan",
        enabled=True,
        schedule=EVERY_MINUTE,
        job_spec=local_spec("no-such-deployment"),
        next_scheduled_run_time=due,
    )
    scheduler = Scheduler(engine, clock=lambda: due + timedelta(milliseconds=200))
    with caplog.at_level(logging.INFO, logger="scorecast.scheduler"):
        fires = scheduler.tick()
    assert sorted(f.definition_id for f in fires) == sorted([*started, failing])
    records = [r for r in caplog.records if r.name == "scorecast.scheduler"]
    infos = [r.getMessage() for r in records if r.levelno == logging.INFO]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(infos) == 1 and infos[0].startswith("a batch of 4 fires in ")
    assert infos[0].endswith(": 3 started")
    assert len(warnings) == 1 and warnings[0].startswith(f"definition {failing}, ")
    assert "failed" in warnings[0]


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_lanes_split_the_due_set_and_fire_each_definition_once(engine: Engine) -> None:
    """One scheduler firing in two lanes (threads) on PostgreSQL: every due definition fires
    exactly once, with one job, and both lanes took batches (each beats a row of its own)."""
    due = START + timedelta(seconds=30)
    add_due_definitions(engine, DUE_TOGETHER, due)
    scheduler = Scheduler(engine, clock=lambda: due, batch_size=20, lanes=2)
    fires = scheduler.tick()
    assert len(fires) == DUE_TOGETHER
    assert {fire.outcome for fire in fires} == {"started"}
    with session_scope(engine) as session:
        jobs = session.execute(select(Job.definition_id)).scalars().all()
        beats = set(session.scalars(select(SchedulerHeartbeat.id)))
    assert len(jobs) == DUE_TOGETHER and len(set(jobs)) == DUE_TOGETHER
    assert {fire.definition_id for fire in fires} == set(jobs)
    assert beats == {scheduler.scheduler_id, lane_id(scheduler.scheduler_id, 1)}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_sqlite_has_one_lane(engine: Engine) -> None:
    assert Scheduler(engine, lanes=4).lanes == 1


def test_the_lanes_setting_is_a_whole_number() -> None:
    env = {"SCORECAST_HOME": "home"}
    assert Settings.from_env(env).scheduler_lanes == 1
    assert Settings.from_env({**env, "SCORECAST_SCHEDULER_LANES": "2"}).scheduler_lanes == 2
    for bad in ("0", "two", "1.5"):
        with pytest.raises(InvalidInput, match="SCORECAST_SCHEDULER_LANES"):
            Settings.from_env({**env, "SCORECAST_SCHEDULER_LANES": bad})
