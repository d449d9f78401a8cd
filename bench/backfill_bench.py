"""A 100,000-fire backfill on PostgreSQL: fires planned per second, jobs created per second.

One definition on an every-minute schedule (100,000 fire times are 69 days and 10 hours) with
a ``filesystem`` intake and output. Measured in one run, each against a baseline of the same
run:

1. planning: ``service.backfills.create_backfill`` (fire times computed, rows stored, the first
   job released) against the two parts it cannot avoid: computing the fire times alone
   (``fire_times_between``) and a bare SQLAlchemy Core bulk insert of as many rows of the same
   shape;
2. jobs: releasing ``--jobs`` planned times at once (each a validated job, its log line, its
   fire row and the backfill row's update) against ``service.jobs.create_job`` of the same
   spec as many times (the API's submit path without HTTP);
3. a release round with every place taken (what the pump costs each second while a 100,000-
   time backfill runs).

The load average is printed before and after: figures from a busy machine are not comparable.

Usage: python bench/backfill_bench.py [--fires N] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, update

from scorecast.config import Settings
from scorecast.domain.schedule import parse_schedule
from scorecast.domain.schedule.backfill_plan import fire_times_between
from scorecast.service import backfill_release, jobs
from scorecast.service.backfills import BackfillRequest, create_backfill
from scorecast.service.caller import Caller
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.models import (
    Backfill,
    BackfillFire,
    Deployment,
    JobDefinition,
    Organization,
    User,
)

POSTGRES_ADMIN = "host=127.0.0.1 user=postgres dbname=postgres"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
BENCH_DB = "scorecast_backfill_bench"
EVERY_MINUTE = {"minute": ["*"], "hour": ["*"], "dayOfMonth": ["*"], "month": ["*"]}
EVERY_MINUTE["dayOfWeek"] = ["*"]
START = datetime(2026, 1, 1, tzinfo=UTC)
MODEL = {
    "format": "onnx",
    "target": "readmitted",
    "target_type": "binary",
    "features": [{"name": "age", "type": "numeric"}],
    "sha256": "0" * 64,
    "class_labels": ["no", "yes"],
    "positive_class": "yes",
}


def _seed(engine: Engine, root: Path) -> tuple[Caller, str, dict[str, object]]:
    (root / "in.csv").write_text("age\n1\n")
    with session_scope(engine) as session:
        org = Organization(name="bench")
        session.add(org)
        session.flush()
        user = User(org_id=org.id, username="bench", is_admin=True)
        session.add(user)
        session.flush()
        deployment = Deployment(
            org_id=org.id,
            label="bench",
            artifact_path="none.onnx",
            model=MODEL,
            created_by=user.id,
        )
        session.add(deployment)
        session.flush()
        spec: dict[str, object] = {
            "deploymentId": deployment.id,
            "intakeSettings": {"type": "filesystem", "url": (root / "in.csv").as_uri()},
            "outputSettings": {
                "type": "filesystem",
                "url": root.as_uri() + "/out-{scheduled_time}.csv",
            },
            "numConcurrent": 1,
        }
        definition = JobDefinition(
            org_id=org.id,
            name="minutely",
            deployment_id=deployment.id,
            job_spec=spec,
            schedule=EVERY_MINUTE,
            enabled=False,
            created_by=user.id,
            updated_by=user.id,
        )
        session.add(definition)
        session.flush()
        return Caller(org.id, user.id, "bench"), definition.id, spec


def _clock(label: str, began: float, count: int, unit: str) -> float:
    seconds = time.perf_counter() - began
    print(f"  {label:<58} {seconds:7.2f} s  {count / seconds:10,.0f} {unit}/s")
    return seconds


def _measure(settings: Settings, fires: int, job_count: int) -> None:
    migrate(settings.database_url)
    engine = create_engine_for(settings.database_url)
    caller, definition_id, spec = _seed(engine, settings.file_roots[0])
    end = START + timedelta(minutes=fires)
    now = end + timedelta(days=1)
    print(f"planning {fires:,} fire times (every minute from {START:%Y-%m-%d})")

    began = time.perf_counter()
    times = fire_times_between(parse_schedule(EVERY_MINUTE), START, end)
    assert len(times) == fires
    pure = _clock("fire times alone (fire_times_between)", began, fires, "fires")

    began = time.perf_counter()
    with session_scope(engine) as session:
        scratch = Backfill(
            org_id=caller.org_id,
            definition_id=definition_id,
            start_time=START,
            end_time=end,
            max_concurrent=1,
            status="cancelled",
            created_by=caller.user_id,
        )
        session.add(scratch)
        session.flush()
        rows = [
            {"backfill_id": scratch.id, "scheduled_time": t, "state": "cancelled"} for t in times
        ]
        session.execute(insert(BackfillFire), rows)
    bare = _clock("baseline: bare bulk insert of as many rows", began, fires, "rows")

    began = time.perf_counter()
    with session_scope(engine) as session:
        request = BackfillRequest(START, end, max_concurrent=1)
        backfill_id = create_backfill(
            session, caller, definition_id, request, now, app_settings=settings
        ).id
    planned = _clock("create_backfill (plan + store + first job)", began, fires, "fires")
    print(f"    = {planned / (pure + bare):.2f}x (fire times + bare insert)")

    with session_scope(engine) as session:
        session.execute(
            update(Backfill).where(Backfill.id == backfill_id).values(max_concurrent=job_count + 1)
        )
    print(f"\ncreating {job_count:,} jobs")
    began = time.perf_counter()
    with session_scope(engine) as session:
        for _ in range(job_count):
            jobs.create_job(session, caller, spec, "api", app_settings=settings)
    baseline = _clock("baseline: jobs.create_job, same spec", began, job_count, "jobs")

    began = time.perf_counter()
    with session_scope(engine) as session:
        backfill = session.get(Backfill, backfill_id)
        assert backfill is not None
        created = backfill_release.release(session, backfill, now, app_settings=settings)
    assert created == job_count, created
    released = _clock("backfill release (job + log + fire row each)", began, job_count, "jobs")
    print(f"    = {released / baseline:.2f}x create_job")

    rounds = 20
    began = time.perf_counter()
    for _ in range(rounds):
        with session_scope(engine) as session:
            backfill_release.release_backfills(session, now, app_settings=settings)
    per_round = (time.perf_counter() - began) / rounds * 1000
    print(f"\n  release round with every place taken: {per_round:.1f} ms")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fires", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2_000)
    args = parser.parse_args()
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    import psycopg

    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        root = home / "files"
        root.mkdir()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{BENCH_DB}"')
        try:
            url = POSTGRES_URL.format(database=BENCH_DB)
            _measure(
                Settings(home=home, database_url=url, file_roots=(root,)), args.fires, args.jobs
            )
        finally:
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
