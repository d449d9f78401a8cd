"""Every list order and filter of the API reads through an index in the list's order, on both
stores: the page query of each list is captured as the service runs it and explained.

On SQLite ``EXPLAIN QUERY PLAN`` must name the index and need no temporary B-tree for the
ORDER BY. On PostgreSQL sequential scans and sorts are switched off for the explanation, so the
planner picks an index that gives the order whenever one exists (an empty table would otherwise
always be scanned); the plan must name the index and hold no Sort node, and so must the generic
plan (the one a statement prepared on a connection settles on: psycopg prepares a statement
from its fifth run on a connection, and PostgreSQL then plans it without its values).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from scorecast.config import RetentionSettings
from scorecast.service import (
    credentials,
    data_stores,
    datasets,
    definitions,
    deployments,
    fires,
    jobs,
    overview,
    retention,
)
from scorecast.service import job_views as job_views_module
from scorecast.service.caller import Caller
from scorecast.service.job_views import job_views, queue_positions
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition

WAITING_JOB = {"status": "INITIALIZING", "queued": True, "intake_ready": True}
CALLER = Caller(org_id="a" * 24, user_id="b" * 24, username="u")
PAGE = {"offset": 0, "limit": 100}


def _jobs(**filters: Any) -> Callable[[Session], object]:
    return lambda s: jobs.list_jobs(s, CALLER, jobs.JobFilters(**filters), **PAGE)


#: (table, its index, the page): the index by name, or by its names on each store (SQLite names
#: a unique constraint's own index ``sqlite_autoindex_<table>_<n>``)
CASES: dict[str, tuple[str, str | tuple[str, ...], Callable[[Session], object]]] = {
    "jobs newest first": ("jobs", "ix_jobs_org_created", _jobs()),
    "jobs oldest first": ("jobs", "ix_jobs_org_created", _jobs(order_by="created")),
    "jobs by status": ("jobs", "ix_jobs_org_status", _jobs(statuses=["RUNNING"])),
    "jobs by deployment": ("jobs", "ix_jobs_deployment", _jobs(deployment_id="c" * 24)),
    "jobs by definition": ("jobs", "ix_jobs_definition", _jobs(definition_id="d" * 24)),
    "jobs by source": ("jobs", "ix_jobs_org_source", _jobs(sources=["scheduled"])),
    "jobs by intake type": (
        "jobs",
        "ix_jobs_org_intake_type",
        _jobs(intake_types=["localFile"]),
    ),
    "jobs by output type": ("jobs", "ix_jobs_org_output_type", _jobs(output_types=["s3"])),
    "definitions": (
        "job_definitions",
        "ix_job_definitions_org_created",
        lambda s: definitions.list_definitions(s, CALLER, **PAGE),
    ),
    "definitions by deployment": (
        "job_definitions",
        "ix_job_definitions_deployment",
        lambda s: definitions.list_definitions(s, CALLER, deployment_id="c" * 24, **PAGE),
    ),
    "credentials": (
        "credentials",
        "ix_credentials_org_created",
        lambda s: credentials.list_credentials(s, CALLER, **PAGE),
    ),
    "data stores": (
        "data_stores",
        "ix_data_stores_org_created",
        lambda s: data_stores.list_data_stores(s, CALLER, **PAGE),
    ),
    "datasets": (
        "datasets",
        "ix_datasets_org_created",
        lambda s: datasets.list_datasets(s, CALLER, **PAGE),
    ),
    "deployments": (
        "deployments",
        "ix_deployments_org_created",
        lambda s: deployments.list_deployments(s, CALLER, **PAGE),
    ),
    # the unique (definition, scheduled time) index: the fires have no other since 0020
    "a definition's fires": (
        "schedule_fires",
        ("uq_schedule_fires_definition_id", "sqlite_autoindex_schedule_fires_1"),
        lambda s: fires.list_fires(s, JobDefinition(id="d" * 24), fires.FireFilters(), **PAGE),
    ),
}


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(row[-1]) for row in rows)
        connection.exec_driver_sql("SET enable_seqscan = off")
        connection.exec_driver_sql("SET enable_sort = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(str(row[0]) for row in rows)


@pytest.mark.parametrize("case", list(CASES))
def test_each_list_page_reads_its_index_in_order(engine: Engine, case: str) -> None:
    table, index, run = CASES[case]
    with _statements(engine) as seen, session_scope(engine, deferred=True) as session:
        run(session)
    pages = [
        (sql, params)
        for sql, params in seen
        if f"FROM {table}" in sql and "ORDER BY" in sql and "LIMIT" in sql
    ]
    assert len(pages) == 1, seen
    plans = [_plan(engine, *pages[0])]
    if engine.dialect.name == "postgresql":
        plans.append(_generic_plan(engine, *pages[0]))
    names = (index,) if isinstance(index, str) else index
    for plan in plans:
        assert any(name in plan for name in names), plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


@pytest.mark.parametrize("count", [1, 2])
@pytest.mark.parametrize("behind_counted", [0, 500])
def test_queue_positions_count_through_the_partial_index_of_waiting_jobs(
    engine: Engine, count: int, behind_counted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One statement whether for one job (its GET) or a page (and a range), whether the jobs
    ahead come from the tally (500) or are counted (0: as when as many wait from the first on);
    every scan of the jobs in it (from the first on, ahead of it, and the page's range) reads
    the waiting jobs' index, bounded by the index's own columns."""
    monkeypatch.setattr(job_views_module, "BEHIND_COUNTED", behind_counted)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    jobs = [Job(id=letter * 24, created=moment, **WAITING_JOB) for letter in "ef"[:count]]
    with _statements(engine) as seen, session_scope(engine, deferred=True) as session:
        queue_positions(session, jobs)
    statements = [(sql, params) for sql, params in seen if "FROM jobs" in sql]
    assert len(statements) == 1, seen
    plans = [_plan(engine, *statements[0])]
    if engine.dialect.name == "postgresql":
        plans.append(_generic_plan(engine, *statements[0]))
    for plan in plans:
        assert plan.count("ix_jobs_waiting") == (2 if count == 1 else 3), plan
        if engine.dialect.name == "postgresql":  # a bound where each scan starts or stops
            for waiting_scan in plan.split("ix_jobs_waiting")[1:]:
                assert "ROW(status, created, id) " in waiting_scan.split("Index Cond:")[1], plan


def _generic_plan(engine: Engine, statement: str, parameters: dict[str, Any]) -> str:
    """PostgreSQL's generic plan of ``statement`` (the one a statement prepared on a connection
    settles on, planned without its parameters' values), as ``_plan`` explains it."""
    names: list[str] = []

    def number(found: re.Match[str]) -> str:
        if found.group(1) not in names:
            names.append(found.group(1))
        return f"${names.index(found.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", number, statement)
    settings = ("plan_cache_mode = force_generic_plan", "enable_seqscan = off", "enable_sort = off")
    values = ", ".join(_literal(parameters[name]) for name in names)
    with engine.connect() as connection:
        for setting in settings:
            connection.exec_driver_sql(f"SET {setting}")
        connection.exec_driver_sql(f"PREPARE explained AS {prepared}")
        rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE explained({values})").all()
        # prepared statements outlive the transaction on the pooled connection
        connection.exec_driver_sql("DEALLOCATE explained")
        return "\n".join(str(row[0]) for row in rows)


def _literal(value: object) -> str:
    """A parameter of the captured statements as SQL (the few types they bind)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(value)
    if isinstance(value, str | datetime):
        return "'" + str(value).replace("'", "''") + "'"
    raise TypeError(f"no literal for {value!r}")


def test_a_jobs_newest_log_lines_read_through_its_own_lines(engine: Engine) -> None:
    """A job's page reads its newest lines through (job_id, id). On PostgreSQL the generic plan
    counts too: without the index it walked the whole log table backwards by id."""
    job = Job(id="e" * 24, created=datetime(2026, 1, 1, tzinfo=UTC), status="COMPLETED", spec={})
    with _statements(engine) as seen, session_scope(engine, deferred=True) as session:
        job_views(session, [job])
    (statement,) = [(sql, params) for sql, params in seen if "FROM job_logs" in sql]
    if engine.dialect.name == "sqlite":
        plan = _plan(engine, *statement)
        assert "TEMP B-TREE" not in plan, plan
    else:
        plan = _generic_plan(engine, *statement)
        assert "Sort" not in plan, plan
    assert "ix_job_logs_job_newest" in plan, plan


@pytest.mark.parametrize(
    ("index", "run"),
    [
        (
            "ix_jobs_org_finished",
            lambda s: overview.failed_jobs_since(s, CALLER, datetime(2026, 1, 1, tzinfo=UTC)),
        ),
        (
            "ix_jobs_results_deleted_at",
            lambda s: retention.prunable_jobs(
                s, RetentionSettings(), datetime(2026, 1, 1, tzinfo=UTC), batch=100
            ),
        ),
    ],
)
def test_finished_and_pruned_jobs_are_read_through_their_partial_indexes(
    engine: Engine, index: str, run: Callable[[Session], object]
) -> None:
    """The indexes hold only the rows whose column is set (migration
    ``0019_jobs_partial_indexes``); the queries' comparisons prove it, the value bound or not
    (PostgreSQL's generic plan), and read them in order. (That they are partial:
    ``test_migrations``.)"""
    with _statements(engine) as seen, session_scope(engine, deferred=True) as session:
        run(session)
    (statement,) = [(sql, params) for sql, params in seen if "FROM jobs" in sql]
    plans = [_plan(engine, *statement)]
    if engine.dialect.name == "postgresql":
        plans.append(_generic_plan(engine, *statement))
    for plan in plans:  # in the index's order (both read in it), not sorted
        assert index in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
