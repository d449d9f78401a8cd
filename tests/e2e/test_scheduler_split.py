"""Two ``scorecast serve --roles scheduler`` processes on one PostgreSQL database split 5,000
definitions due on the same minute between them: exactly 5,000 jobs, one per definition, each
fire ``started``, none missed or twice; again with each scheduler firing in two lanes
(``SCORECAST_SCHEDULER_LANES=2``: four threads taking batches at once). Waits for a real minute
boundary (up to ~80 s)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from serving import ServeProcess
from sqlalchemy import Engine, func, select

from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.models import (
    Job,
    JobDefinition,
    ScheduleFire,
)
from scorecast.testing.due_definitions import add_due_definitions
from services import POSTGRES, drop_postgres_database, pg_execute, pg_url, require

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DEFINITIONS = 5_000


@pytest.fixture
def database() -> Iterator[str]:
    require(POSTGRES)
    name = f"scorecast_e2e_split_{os.getpid()}"
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        drop_postgres_database(name)


@pytest.mark.parametrize("lanes", [1, 2])
def test_two_schedulers_split_5000_definitions_due_on_one_minute(
    database: str, tmp_path: Path, lanes: int
) -> None:
    migrate(database)
    engine = create_engine_for(database)
    due = (datetime.now(UTC) + timedelta(seconds=80)).replace(second=0, microsecond=0)
    add_due_definitions(engine, DEFINITIONS, due)
    schedulers = [
        ServeProcess(
            tmp_path / f"home-{n}",
            database,
            "--roles",
            "scheduler",
            api=False,
            env={"SCORECAST_SCHEDULER_LANES": str(lanes)},
        )
        for n in (1, 2)
    ]
    try:
        for scheduler in schedulers:
            scheduler.start()
        fired = _wait_for_fires(engine, DEFINITIONS, timeout=600)
        for scheduler in schedulers:
            scheduler.stop()
        with session_scope(engine) as session:
            jobs = session.execute(select(Job.definition_id, Job.scheduled_time)).all()
            outcomes = session.execute(
                select(ScheduleFire.outcome, func.count()).group_by(ScheduleFire.outcome)
            ).all()
            next_times = set(session.scalars(select(JobDefinition.next_scheduled_run_time)))
    finally:
        for scheduler in schedulers:
            scheduler.stop()
        engine.dispose()
    assert fired == DEFINITIONS
    assert len(jobs) == DEFINITIONS
    assert len({definition_id for definition_id, _ in jobs}) == DEFINITIONS
    assert {scheduled for _, scheduled in jobs} == {due}
    assert dict(outcomes) == {"started": DEFINITIONS}
    assert next_times == {due + timedelta(days=1)}


def _wait_for_fires(engine: Engine, count: int, timeout: float) -> int:
    """The number of fire rows, once it reaches ``count`` (or the deadline passes)."""
    deadline = time.monotonic() + timeout
    fired = 0
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            fired = session.scalar(select(func.count()).select_from(ScheduleFire)) or 0
        if fired >= count:
            return fired
        time.sleep(1)
    return fired
