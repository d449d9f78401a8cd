"""Console page speed on a large store: every page's time with many definitions and jobs.

Seeds one organization with ``--definitions`` enabled hourly definitions (default 10,000) and
``--jobs`` jobs (default 100,000; a tenth of them waiting in the queue, the rest finished), with
a fire per definition, straight into the store (SQLAlchemy Core bulk inserts, not the API),
then serves ``create_app`` with a real uvicorn and times each console page through one
keep-alive client signed in as the organization's user. The baseline of the run is
``GET /api/v2/version/`` (no database). Prints p50 and p95 per page; the aim is under 100 ms
for every page.

Usage: python bench/console_bench.py [--store postgresql|sqlite] [--definitions N] [--jobs N]
                                      [--requests N]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from _serve import serve_in_thread
from sqlalchemy import Engine, insert, text

from scorecast.api.app import create_app
from scorecast.config import Settings
from scorecast.service.accounts import create_token
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.models import (
    Deployment,
    Job,
    JobDefinition,
    Organization,
    ScheduleFire,
    User,
)
from scorecast.store.types import new_id, utcnow

POSTGRES_ADMIN = "host=127.0.0.1 user=postgres dbname=postgres"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
BENCH_DB = "scorecast_console_bench"
BATCH = 5000
MODEL = {
    "format": "onnx",
    "target": "readmitted",
    "target_type": "binary",
    "features": [{"name": "age", "type": "numeric"}],
    "sha256": "0" * 64,
    "class_labels": ["no", "yes"],
    "positive_class": "yes",
}
SPEC = {
    "deploymentId": "",
    "numConcurrent": 1,
    "intakeSettings": {"type": "localFile"},
    "outputSettings": {"type": "localFile"},
}


def _seed(engine: Engine, definitions: int, jobs: int) -> tuple[str, str]:
    """Bulk rows for one organization; (its token, one definition id)."""
    with session_scope(engine) as session:
        token = create_token(session, "bench", "bench")
        org = session.query(Organization).filter_by(name="bench").one()
        user = session.query(User).filter_by(org_id=org.id).one()
        org_id, user_id = org.id, user.id
    now = utcnow()
    rng = random.Random(0)
    deployment_id = new_id()
    spec = {**SPEC, "deploymentId": deployment_id}
    definition_ids = [new_id() for _ in range(definitions)]
    with engine.begin() as connection:
        connection.execute(
            insert(Deployment),
            [
                {
                    "id": deployment_id,
                    "org_id": org_id,
                    "label": "bench model",
                    "artifact_path": "none",
                    "model": MODEL,
                    "created_by": user_id,
                    "created": now,
                }
            ],
        )
        for start in range(0, definitions, BATCH):
            rows = []
            for index, definition_id in enumerate(definition_ids[start : start + BATCH], start):
                minute = index % 60
                rows.append(
                    {
                        "id": definition_id,
                        "org_id": org_id,
                        "name": f"definition {index:06d}",
                        "enabled": True,
                        "schedule": {
                            "minute": [minute],
                            "hour": ["*"],
                            "dayOfMonth": ["*"],
                            "month": ["*"],
                            "dayOfWeek": ["*"],
                        },
                        "job_spec": spec,
                        "deployment_id": deployment_id,
                        "created_by": user_id,
                        "updated_by": user_id,
                        "created": now - timedelta(seconds=definitions - index),
                        "updated": now,
                        "next_scheduled_run_time": now + timedelta(minutes=(minute + 1) % 60),
                        "last_started_job_status": "COMPLETED",
                        "last_started_job_time": now - timedelta(hours=1),
                    }
                )
            connection.execute(insert(JobDefinition), rows)
        fires = [
            {
                "definition_id": definition_id,
                "scheduled_time": now - timedelta(minutes=30 + index % 60),
                "fired_at": now - timedelta(minutes=30),
                "outcome": "skipped" if index % 10 == 0 else "started",
                "reason": "the previous run was still running" if index % 10 == 0 else None,
            }
            for index, definition_id in enumerate(definition_ids)
        ]
        for start in range(0, len(fires), BATCH):
            connection.execute(insert(ScheduleFire), fires[start : start + BATCH])
        for start in range(0, jobs, BATCH):
            rows = []
            for index in range(start, min(start + BATCH, jobs)):
                waiting = index >= jobs - jobs // 10
                created = now - timedelta(seconds=jobs - index)
                rows.append(
                    {
                        "id": new_id(),
                        "org_id": org_id,
                        "deployment_id": deployment_id,
                        "definition_id": definition_ids[index % definitions],
                        "spec": spec,
                        "source": "scheduled",
                        "status": "INITIALIZING"
                        if waiting
                        else rng.choice(["COMPLETED"] * 8 + ["FAILED", "ABORTED"]),
                        "status_details": "Job created" if waiting else "Job done",
                        "queued": waiting,
                        "intake_ready": True,
                        "created_by": user_id,
                        "created": created,
                        "started": None if waiting else created,
                        "finished": None if waiting else created + timedelta(seconds=5),
                        "scored_rows": 0 if waiting else 1000,
                        "percentage_completed": 0.0 if waiting else 100.0,
                    }
                )
            connection.execute(insert(Job), rows)
    return token, definition_ids[0]


def _analyze(engine: Engine) -> None:
    """Gather the planner's statistics, as autovacuum does on a store that grew over time (a
    bulk load measured at once would otherwise be planned blind)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
        connection.execute(text(statement))


def _times(client: httpx.Client, path: str, count: int) -> list[float]:
    if client.get(path).status_code == 404:  # warm; an older build without this page
        return []
    found = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        found.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return found


def _measure(settings: Settings, args: argparse.Namespace) -> None:
    migrate(settings.database_url)
    engine = create_engine_for(settings.database_url)
    started = time.perf_counter()
    token, definition_id = _seed(engine, args.definitions, args.jobs)
    print(
        f"seeded {args.definitions} definitions and {args.jobs} jobs "
        f"in {time.perf_counter() - started:.1f} s"
    )
    _analyze(engine)
    app = create_app(settings, engine)
    with serve_in_thread(app) as site, httpx.Client(base_url=site, timeout=120) as client:
        form = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/login").text)
        assert form, "the sign-in page has no form token"
        login = client.post("/login", data={"token": token, "next": "/", "csrf": form.group(1)})
        assert login.status_code == 303, login.text
        first_job = client.get(
            "/api/v2/batchPredictions/?limit=1", headers={"Authorization": f"Token {token}"}
        ).json()["data"][0]["id"]
        pages = {
            "GET /api/v2/version/ (baseline)": "/api/v2/version/",
            "/ (overview)": "/",
            "/definitions": "/definitions",
            "/definitions?offset=9900": f"/definitions?offset={max(args.definitions - 100, 0)}",
            "/definitions/{id}": f"/definitions/{definition_id}",
            "/definitions/{id}/schedule": f"/definitions/{definition_id}/schedule",
            "/jobs": "/jobs",
            "/jobs?status=INITIALIZING": "/jobs?status=INITIALIZING",
            "/jobs/{id}": f"/jobs/{first_job}",
            "/deployments": "/deployments",
            "/credentials": "/credentials",
            "/data-stores": "/data-stores",
        }
        client.headers["Authorization"] = f"Token {token}"
        results: dict[str, Any] = {
            name: _times(client, path, args.requests) for name, path in pages.items()
        }
    engine.dispose()
    print(f"\n{settings.database_url.split(':')[0]}: {args.requests} sequential requests each")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    for name, times in results.items():
        if not times:
            print(f"  {name:<36} not served by this build")
            continue
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
        print(f"  {name:<36} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--definitions", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        if args.store == "sqlite":
            url = f"sqlite:///{home / 'bench.db'}"
            _measure(Settings(home=home, database_url=url), args)
            return
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{BENCH_DB}"')
        try:
            url = POSTGRES_URL.format(database=BENCH_DB)
            _measure(Settings(home=home, database_url=url), args)
        finally:
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
