"""Two ``scorecast serve`` processes (each with a scheduler and a worker) on one PostgreSQL
database: an every-minute definition fires once per minute, never twice, and each fire's job
completes. Takes two to three minutes of wall time (it waits for real minute boundaries)."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import ServeProcess, register_demo_model
from sqlalchemy import Engine, select

from scorecast.demo import DATA
from scorecast.store.db import create_engine_for, session_scope
from scorecast.store.models import Job, ScheduleFire
from services import POSTGRES, drop_postgres_database, pg_execute, pg_url, require

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
}
FIRES = 2


@pytest.fixture
def database() -> Iterator[str]:
    require(POSTGRES)
    name = f"scorecast_e2e_sched_{os.getpid()}"
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        drop_postgres_database(name)


def test_two_schedulers_fire_an_every_minute_definition_once_per_minute(
    database: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    files = tmp_path / "files"
    files.mkdir()
    (files / "patients.csv").write_bytes(DATA.read_bytes())
    env = {"SCORECAST_FILE_ROOTS": str(files)}
    first = ServeProcess(home, database, "--workers", "1", env=env).start()
    second = ServeProcess(home, database, "--workers", "1", env=env)
    try:
        second.start()
        assert first.token
        deployment = register_demo_model(first)
        with first.http() as http:
            response = http.post(
                "batchPredictionJobDefinitions/",
                json={
                    "name": "every minute",
                    "enabled": True,
                    "schedule": EVERY_MINUTE,
                    "deploymentId": deployment,
                    "intakeSettings": {
                        "type": "filesystem",
                        "url": (files / "patients.csv").as_uri(),
                    },
                    "outputSettings": {
                        "type": "filesystem",
                        "url": (files / "scored.csv").as_uri(),
                    },
                },
            )
            assert response.status_code in (200, 201, 202), response.text
            definition_id = response.json()["id"]
        engine = create_engine_for(database)
        try:
            fires = _wait_for_fires(engine, definition_id, FIRES, timeout=FIRES * 60 + 90)
            # one more tick of both schedulers past the last fire changes nothing
            time.sleep(3)
            with first.http() as http:
                patch = http.patch(
                    f"batchPredictionJobDefinitions/{definition_id}", json={"enabled": False}
                )
                assert patch.status_code == 200, patch.text
            jobs = _wait_for_jobs(engine, definition_id)
            fires = _fires(engine, definition_id)
        finally:
            engine.dispose()
    finally:
        first.stop()
        second.stop()

    times = [fire.scheduled_time for fire in fires]
    assert len(times) == len(set(times)) >= FIRES
    assert all(t.second == 0 and t.microsecond == 0 for t in times)
    for earlier, later in itertools.pairwise(times):
        assert (later - earlier).total_seconds() == 60
    assert all(fire.outcome == "started" for fire in fires), [(f.outcome, f.reason) for f in fires]
    assert sorted(job.scheduled_time for job in jobs) == times
    assert {fire.job_id for fire in fires} == {job.id for job in jobs}
    assert all(job.status == "COMPLETED" and job.source == "scheduled" for job in jobs)
    assert (files / "scored.csv").exists()


def _fires(engine: Engine, definition_id: str) -> list[ScheduleFire]:
    with session_scope(engine) as session:
        return list(
            session.scalars(
                select(ScheduleFire)
                .where(ScheduleFire.definition_id == definition_id)
                .order_by(ScheduleFire.scheduled_time)
            ).all()
        )


def _wait_for_fires(
    engine: Engine, definition_id: str, count: int, timeout: float
) -> list[ScheduleFire]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fires = _fires(engine, definition_id)
        if len(fires) >= count:
            return fires
        time.sleep(1)
    raise AssertionError(f"only {len(_fires(engine, definition_id))} fires in {timeout:.0f} s")


def _wait_for_jobs(engine: Engine, definition_id: str, timeout: float = 120) -> list[Job]:
    deadline = time.monotonic() + timeout
    jobs: list[Job] = []
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            jobs = list(session.scalars(select(Job).where(Job.definition_id == definition_id)))
        if jobs and all(job.status in ("COMPLETED", "ABORTED", "FAILED") for job in jobs):
            return jobs
        time.sleep(0.5)
    raise AssertionError(f"jobs did not finish: {[(j.id, j.status) for j in jobs]}")
