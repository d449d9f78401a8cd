"""Migrating an empty database gives exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, inspect, select, text

from scorecast.service import accounts
from scorecast.store.db import (
    alembic_config,
    create_engine_for,
    current_revision,
    migrate,
    session_scope,
)
from scorecast.store.models import Backfill, BackfillFire, Base, Dataset, Job, JobDefinition
from tallies import downgrade


def _differences(url: str) -> list[object]:
    """What autogenerate finds between the database and the models. It cannot compare indexes
    on expressions (it says so in a warning): ``_index_definitions`` checks those."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "autogenerate skipping .*expression-based index")
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _index_definitions(engine: Engine) -> dict[str, str]:
    """Every index of the database by name, with its SQL, normalized (``_normalized``)."""
    if engine.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(query).all()
    return {name: _normalized(sql) for name, sql in rows}


def _normalized(sql: str) -> str:
    """Lower case, without spaces, quotes and the casts PostgreSQL adds (``'{a,b}'::text[]``)."""
    return re.sub(r"::[a-z]+(\[\])?", "", re.sub(r"[\s\"]", "", sql).lower())


def _unbracketed(sql: str) -> str:
    """``_normalized`` without parentheses (PostgreSQL puts each term of a condition in some)."""
    return re.sub(r"[()]", "", _normalized(sql))


def test_empty_database_has_differences_before_migrating(empty_url: str) -> None:
    # The comparison below can fail: on an empty database it reports every table.
    assert len(_differences(empty_url)) >= len(Base.metadata.tables)


def test_migrating_an_empty_database_gives_the_models_schema(empty_url: str) -> None:
    migrate(empty_url)
    assert _differences(empty_url) == []
    engine = create_engine_for(empty_url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        head = ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
        assert current_revision(engine) == head
    finally:
        engine.dispose()


def test_expression_and_partial_indexes_are_the_models(empty_url: str) -> None:
    """Each index of the models is in the migrated store, with its expressions; one the model
    makes partial (``sqlite_where``/``postgresql_where``) has the same condition there, and
    only such one has one (Alembic's comparison reads no index condition)."""
    migrate(empty_url)
    engine = create_engine_for(empty_url)
    try:
        found = _index_definitions(engine)
        for table in Base.metadata.tables.values():
            for index in table.indexes:
                assert index.name in found, f"{index.name} is missing"
                expressions = [e for e in index.expressions if not isinstance(e, Column)]
                for expression in expressions:  # e.g. json_extract(spec, '$.intakeSettings.type')
                    sql = str(expression.compile(engine, compile_kwargs={"include_table": False}))
                    assert _normalized(sql) in found[index.name]
                where = index.dialect_options[engine.dialect.name].get("where")
                if where is None:
                    assert "where" not in found[index.name], (index.name, found[index.name])
                    continue
                condition = where.compile(
                    engine, compile_kwargs={"include_table": False, "literal_binds": True}
                )
                stored = found[index.name].split("where", 1)[1]
                assert _unbracketed(str(condition)) == _unbracketed(stored), index.name
    finally:
        engine.dispose()


def test_storage_parameters_are_the_models(empty_url: str) -> None:
    """Each table's storage parameters on PostgreSQL (``WITH (fillfactor = …)``) are the
    model's ``postgresql_with``, and a table whose model sets none has none (Alembic's
    comparison reads none). SQLite has no such parameters."""
    migrate(empty_url)
    engine = create_engine_for(empty_url)
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's storage parameters")
        query = (
            "SELECT relname, reloptions FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        )
        with engine.connect() as connection:
            stored = {
                name: sorted(options or []) for name, options in connection.execute(text(query))
            }
        for name, table in Base.metadata.tables.items():
            wanted = table.dialect_options["postgresql"].get("with") or {}
            assert stored[name] == sorted(f"{key}={value}" for key, value in wanted.items()), name
        assert stored["job_definitions"] == ["fillfactor=50"]  # the one table that sets one
    finally:
        engine.dispose()


def test_the_fire_writes_migration_downgrades_and_upgrades_again(empty_url: str) -> None:
    """``0020_fire_writes``: its downgrade brings back the fires' index on ``definition_id``
    (and on PostgreSQL the definitions' default fill factor); upgrading again gives the
    models' schema."""
    migrate(empty_url)
    downgrade(empty_url, "0019_jobs_partial_indexes")
    engine = create_engine_for(empty_url)
    try:
        assert "ix_schedule_fires_definition_id" in _index_definitions(engine)
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                options = connection.execute(
                    text("SELECT reloptions FROM pg_class WHERE relname = 'job_definitions'")
                ).scalar()
            assert options is None
    finally:
        engine.dispose()
    migrate(empty_url)
    assert _differences(empty_url) == []


def test_the_dataset_categories_migration_keeps_what_existing_datasets_reported(
    empty_url: str,
) -> None:
    """``0023_dataset_categories``: a dataset stored before it has the categories it reported
    (``["PREDICTION"]``); the downgrade drops the column and upgrading again gives the models'
    schema."""
    migrate(empty_url, "0022_job_released_attempts")
    engine = create_engine_for(empty_url)
    try:
        with session_scope(engine) as session:
            organization = accounts.ensure_organization(session, "older")
            user = accounts.ensure_user(session, organization, "older-user")
            session.execute(
                text(
                    "INSERT INTO datasets (id, org_id, name, created_by, created) "
                    "VALUES ('d0000000000000000000000d', :org, 'old.csv', :user, :created)"
                ),
                {"org": organization.id, "user": user.id, "created": datetime.now(UTC)},
            )
        migrate(empty_url)
        with session_scope(engine) as session:
            dataset = session.get(Dataset, "d0000000000000000000000d")
            assert dataset is not None
            assert dataset.categories == ["PREDICTION"]
        downgrade(empty_url, "0022_job_released_attempts")
        columns = {column["name"] for column in inspect(engine).get_columns("datasets")}
        assert "categories" not in columns
    finally:
        engine.dispose()
    migrate(empty_url)
    assert _differences(empty_url) == []


def test_the_backfill_job_status_migration_records_the_outcomes_of_ended_jobs(
    empty_url: str,
) -> None:
    """``0024_backfill_job_status``: a released backfill time stored before it gets its ended
    job's status; one whose job was pruned already gets ``COMPLETED`` (it was reported done);
    one whose job runs, and an unreleased one, none. The downgrade drops the column and its
    index; upgrading again gives the models' schema."""
    migrate(empty_url, "0023_dataset_categories")
    engine = create_engine_for(empty_url)
    now = datetime.now(UTC)
    try:
        with session_scope(engine) as session:
            organization = accounts.ensure_organization(session, "older")
            user = accounts.ensure_user(session, organization, "older-user")
            definition = JobDefinition(
                org_id=organization.id,
                name="nightly",
                deployment_id="0" * 24,
                job_spec={"deploymentId": "0" * 24},
                created_by=user.id,
                updated_by=user.id,
            )
            session.add(definition)
            session.flush()
            backfill = Backfill(
                org_id=organization.id,
                definition_id=definition.id,
                start_time=now,
                end_time=now,
                max_concurrent=1,
                created_by=user.id,
            )
            session.add(backfill)
            for job_id, status in (("a" * 24, "FAILED"), ("b" * 24, "RUNNING")):
                session.add(
                    Job(
                        id=job_id,
                        org_id=organization.id,
                        deployment_id="0" * 24,
                        spec={"deploymentId": "0" * 24},
                        source="backfill",
                        status=status,
                        created_by=user.id,
                    )
                )
            session.flush()
            for hour, state, job_id in (
                (1, "released", "a" * 24),
                (2, "released", "b" * 24),
                (3, "released", "c" * 24),  # pruned
                (4, "planned", None),
            ):
                session.execute(
                    text(
                        "INSERT INTO backfill_fires (backfill_id, scheduled_time, state, job_id) "
                        "VALUES (:backfill, :moment, :state, :job)"
                    ),
                    {
                        "backfill": backfill.id,
                        "moment": now + timedelta(hours=hour),
                        "state": state,
                        "job": job_id,
                    },
                )
            backfill_id = backfill.id
        migrate(empty_url)
        with session_scope(engine) as session:
            recorded = session.scalars(
                select(BackfillFire.job_status)
                .where(BackfillFire.backfill_id == backfill_id)
                .order_by(BackfillFire.scheduled_time)
            ).all()
        assert recorded == ["FAILED", None, "COMPLETED", None]
        downgrade(empty_url, "0023_dataset_categories")
        columns = {column["name"] for column in inspect(engine).get_columns("backfill_fires")}
        assert "job_status" not in columns
        assert "ix_backfill_fires_unrecorded" not in _index_definitions(engine)
    finally:
        engine.dispose()
    migrate(empty_url)
    assert _differences(empty_url) == []


def test_migrate_is_idempotent(empty_url: str) -> None:
    migrate(empty_url)
    migrate(empty_url)
    assert _differences(empty_url) == []


def test_concurrent_migrations_leave_one_schema(empty_url: str) -> None:
    # Several processes starting at once (two schedulers, serve + token create) all succeed.
    code = "import sys; from scorecast.store.db import migrate; migrate(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, empty_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    failures = [p.stderr.read() for p in processes if p.wait() != 0 and p.stderr]
    for process in processes:
        if process.stderr:
            process.stderr.close()
    assert failures == []
    assert _differences(empty_url) == []


def test_store_url_fixture_is_migrated_and_empty(store_url: str) -> None:
    assert _differences(store_url) == []
    engine = create_engine_for(store_url)
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                assert connection.execute(table.select()).first() is None
    finally:
        engine.dispose()
