"""Migration ``0013_job_tally_keys`` on a store with jobs, on SQLite and PostgreSQL: the upgrade
counts the stored jobs by key, the downgrade back to ``0012_job_list_counts`` restores the
per-organization tally (its triggers working), and upgrading again gives the same counts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, inspect, text

from scorecast.service import accounts
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.models import Job
from scorecast.store.types import new_id
from tallies import downgrade

BEFORE = "0012_job_list_counts"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
#: (deployment, source, intake type, output type) of the jobs stored before the upgrade
KEYS = [
    ("d" * 24, "api", "localFile", "localFile"),
    ("d" * 24, "scheduled", "s3", None),
    ("e" * 24, "manual", "localFile", "jdbc"),
]


def _add_jobs(engine: Engine, org_id: str, user_id: str, counts: list[int]) -> None:
    with session_scope(engine) as session:
        for key, count in zip(KEYS, counts, strict=True):
            if not count:
                continue
            deployment, source, intake, output = key
            spec = {
                "deploymentId": deployment,
                "intakeSettings": {"type": intake},
                "outputSettings": {} if output is None else {"type": output},
            }
            session.execute(
                insert(Job),
                [
                    {
                        "id": new_id(),
                        "org_id": org_id,
                        "deployment_id": deployment,
                        "source": source,
                        "spec": spec,
                        "created_by": user_id,
                        "created": T0 + timedelta(seconds=n),
                    }
                    for n in range(count)
                ],
            )


def _jobs_by_key(connection: Connection) -> Counter[tuple[object, ...]]:
    rows = connection.execute(
        text(
            "SELECT org_id, deployment_id, source, intake_type, output_type, count(*) FROM jobs "
            "GROUP BY org_id, deployment_id, source, intake_type, output_type"
        )
    )
    return Counter({tuple(row[:5]): row[5] for row in rows})


def _tally_by_key(connection: Connection) -> Counter[tuple[object, ...]]:
    rows = connection.execute(
        text(
            "SELECT org_id, deployment_id, source, intake_type, output_type, sum(delta) "
            "FROM job_tallies GROUP BY org_id, deployment_id, source, intake_type, output_type "
            "HAVING sum(delta) <> 0"
        )
    )
    return Counter({tuple(row[:5]): int(row[5]) for row in rows})


def _tally_by_org(connection: Connection) -> dict[str, int]:
    rows = connection.execute(
        text("SELECT org_id, sum(delta) FROM job_tallies GROUP BY org_id HAVING sum(delta) <> 0")
    )
    return {row[0]: int(row[1]) for row in rows}


def _jobs_by_org(connection: Connection) -> dict[str, int]:
    rows = connection.execute(text("SELECT org_id, count(*) FROM jobs GROUP BY org_id"))
    return {row[0]: int(row[1]) for row in rows}


def test_the_upgrade_counts_by_key_and_the_downgrade_restores_the_org_tally(
    empty_url: str,
) -> None:
    migrate(empty_url, BEFORE)
    engine = create_engine_for(empty_url)
    try:
        with session_scope(engine) as session:
            organization = accounts.ensure_organization(session, "tallied")
            user = accounts.ensure_user(session, organization, "tallied-user")
            org_id, user_id = organization.id, user.id
        _add_jobs(engine, org_id, user_id, [300, 20, 7])
        with session_scope(engine) as session:  # a delete through 0012's triggers
            session.execute(
                delete(Job).where(Job.source == "manual", Job.created < T0 + timedelta(seconds=2))
            )

        migrate(empty_url)
        with engine.connect() as connection:
            assert _tally_by_key(connection) == _jobs_by_key(connection)
            assert sum(_jobs_by_key(connection).values()) == 325
        _add_jobs(engine, org_id, user_id, [1, 260, 3])  # 0013's triggers, crossing a fold
        with engine.connect() as connection:
            assert _tally_by_key(connection) == _jobs_by_key(connection)

        downgrade(empty_url, BEFORE)
        columns = {column["name"] for column in inspect(engine).get_columns("job_tallies")}
        assert columns == {"id", "org_id", "delta"}
        with engine.connect() as connection:
            assert _tally_by_org(connection) == _jobs_by_org(connection) == {org_id: 589}
        _add_jobs(engine, org_id, user_id, [5, 0, 300])  # 0012's triggers again
        with session_scope(engine) as session:
            session.execute(delete(Job).where(Job.source == "api"))  # 306 jobs
        with engine.connect() as connection:
            assert _tally_by_org(connection) == _jobs_by_org(connection) == {org_id: 588}

        migrate(empty_url)
        with engine.connect() as connection:
            assert _tally_by_key(connection) == _jobs_by_key(connection)
            rows = connection.execute(text("SELECT count(*) FROM job_tallies")).scalar()
        assert rows == 2  # one per key: the recount folds
    finally:
        engine.dispose()
