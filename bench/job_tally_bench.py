"""What the job tally's triggers (``store.job_tallies``) cost a bulk insert and a bulk delete of
jobs: ``--jobs`` jobs written by one ``INSERT … SELECT`` (as the scheduler writes a batch) into a
migrated store that already holds ``--stored`` jobs, then deleted by one ``DELETE``, ``--repeat``
times, on SQLite and (when it answers on 127.0.0.1:5432) PostgreSQL.

Compare two trees by running this script with each one's ``src`` first on ``PYTHONPATH``: the
store is migrated by the code imported, so its triggers are that tree's.

Usage: python bench/job_tally_bench.py [--jobs N] [--stored N] [--repeat N] [--sqlite-only]
       [--pg-database NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    String,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    true,
)

from scorecast.service.accounts import create_token
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.models import ApiToken, Job, User

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
SPEC = {
    "deploymentId": "d" * 24,
    "intakeSettings": {"type": "localFile"},
    "outputSettings": {"type": "localFile"},
}


def _insert_select(engine: Engine, org_id: str, user_id: str, prefix: str, count: int) -> None:
    """``count`` jobs in one ``INSERT … SELECT`` over a recursive counter."""
    numbers = select(literal(1, Integer).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < count))
    n = numbers.c.n
    ident = literal(prefix) + cast(n + 1_000_000, String)
    values: dict[str, Any] = {
        "id": ident,
        "org_id": literal(org_id),
        "deployment_id": literal("d" * 24),
        "spec": literal(SPEC, Job.spec.type),
        "source": literal("scheduled"),
        "status": literal("INITIALIZING"),
        "status_details": literal("Job created"),
        "queued": true(),
        "abort_requested": literal(False),
        "intake_ready": true(),
        "created_by": literal(user_id),
        "created": literal(datetime(2026, 1, 1, tzinfo=UTC), Job.created.type),
        "percentage_completed": literal(0.0),
        "scored_rows": literal(0),
        "failed_rows": literal(0),
        "skipped_rows": literal(0),
        "attempt": literal(0),
        "after_previous": literal(False),
        "results_deleted": literal(False),
        "fire_attempt": literal(1),
        "slow_reported": literal(False),
    }
    query = select(*[expression.label(name) for name, expression in values.items()]).select_from(
        numbers
    )
    with session_scope(engine) as session:
        session.execute(insert(Job).from_select(list(values), query))


def _measure(url: str, label: str, args: argparse.Namespace) -> None:
    migrate(url)
    engine = create_engine_for(url)
    try:
        with session_scope(engine) as session:
            create_token(session, "bench", "bench")
            user = session.query(User).join(ApiToken, ApiToken.user_id == User.id).one()
            org_id, user_id = user.org_id, user.id
        _insert_select(engine, org_id, user_id, "stored", args.stored)
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM ANALYZE")
                )
        inserts: list[float] = []
        deletes: list[float] = []
        for r in range(args.repeat):
            prefix = f"r{r:04d}a"
            started = time.perf_counter()
            _insert_select(engine, org_id, user_id, prefix, args.jobs)
            inserts.append(time.perf_counter() - started)
            started = time.perf_counter()
            with session_scope(engine) as session:
                session.execute(delete(Job).where(Job.id.startswith(prefix)))
            deletes.append(time.perf_counter() - started)
        with session_scope(engine, deferred=True) as session:
            left = session.scalar(select(func.count()).select_from(Job))
        assert left == args.stored, left
        print(
            f"{label}: {args.jobs:,} jobs by INSERT … SELECT: best {min(inserts) * 1000:.0f} ms, "
            f"median {statistics.median(inserts) * 1000:.0f} ms; DELETE: best "
            f"{min(deletes) * 1000:.0f} ms, median {statistics.median(deletes) * 1000:.0f} ms "
            f"({args.repeat} runs, {args.stored:,} jobs stored, load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--pg-database", default="scorecast_tally_bench")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        _measure(f"sqlite:///{Path(scratch) / 'tally.db'}", "SQLite", args)
    if args.sqlite_only:
        return
    admin = create_engine_for(POSTGRES_URL.format(database="postgres"))
    name = args.pg_database

    def admin_sql(statement: str) -> None:
        with admin.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(statement))

    try:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_sql(f'CREATE DATABASE "{name}"')
        _measure(POSTGRES_URL.format(database=name), "PostgreSQL", args)
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
