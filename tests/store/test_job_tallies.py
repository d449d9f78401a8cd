"""The per-organization job tally (``store.job_tallies``, migration ``0012_job_list_counts``) stays
exact on both stores: through jobs created by the service, bulk inserts, deletions, retention
pruning, any sequence of them (hypothesis), concurrent submissions on PostgreSQL, and a
rolled-back transaction; its rows stay few (the triggers fold them)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, event, func, insert, select
from sqlalchemy.orm import Session

from hypothesis_profiles import examples
from scorecast.domain.job_spec import JobSpec
from scorecast.service import accounts, jobs, retention
from scorecast.service.caller import Caller
from scorecast.store.db import session_scope
from scorecast.store.job_tallies import job_count
from scorecast.store.models import Job, JobTally
from scorecast.store.types import new_id

T0 = datetime(2026, 1, 1, tzinfo=UTC)
#: the fold period of the migration's triggers
FOLD_EVERY = 256
SPEC = {
    "deploymentId": "d" * 24,
    "intakeSettings": {"type": "localFile"},
    "outputSettings": {"type": "localFile"},
}


def _callers(engine: Engine) -> tuple[Caller, Caller]:
    with session_scope(engine) as session:
        found = []
        for name in ("first", "second"):
            organization = accounts.ensure_organization(session, name)
            user = accounts.ensure_user(session, organization, f"{name}-user")
            found.append(Caller(org_id=organization.id, user_id=user.id, username=user.username))
        return found[0], found[1]


def _bulk(session: Session, caller: Caller, count: int) -> None:
    if count:
        rows = [
            {
                "id": new_id(),
                "org_id": caller.org_id,
                "deployment_id": "d" * 24,
                "spec": SPEC,
                "created_by": caller.user_id,
                "created": T0 + timedelta(seconds=n),
            }
            for n in range(count)
        ]
        session.execute(insert(Job), rows)


def _delete(session: Session, caller: Caller, count: int) -> None:
    ids = session.scalars(
        select(Job.id).where(Job.org_id == caller.org_id).order_by(Job.id).limit(count)
    ).all()
    if ids:
        session.execute(delete(Job).where(Job.id.in_(ids)))


def _assert_exact(engine: Engine, *callers: Caller) -> None:
    with session_scope(engine, deferred=True) as session:
        for caller in callers:
            counted = session.scalar(
                select(func.count()).select_from(Job).where(Job.org_id == caller.org_id)
            )
            assert job_count(session, caller.org_id) == counted
        tally_rows = session.scalar(select(func.count()).select_from(JobTally)) or 0
    assert tally_rows <= FOLD_EVERY + 2 * len(callers), tally_rows


def test_the_tally_follows_creations_deletions_and_retention(engine: Engine) -> None:
    first, second = _callers(engine)
    _assert_exact(engine, first, second)
    spec = JobSpec.from_wire(SPEC)
    with session_scope(engine) as session:
        for _ in range(3):
            jobs.insert_job(session, first, spec, "api")
        _bulk(session, second, 700)  # crosses folds
    _assert_exact(engine, first, second)
    with session_scope(engine) as session:
        _delete(session, second, 450)
        _bulk(session, first, 30)
    _assert_exact(engine, first, second)
    with session_scope(engine) as session:
        old = session.scalars(select(Job.id).where(Job.org_id == first.org_id).limit(20)).all()
        retention.prune_jobs(session, old)
    _assert_exact(engine, first, second)
    with session_scope(engine, deferred=True) as session:
        assert job_count(session, first.org_id) == 13
        assert job_count(session, second.org_id) == 250


def test_a_rolled_back_transaction_leaves_the_tally_as_it_was(engine: Engine) -> None:
    first, second = _callers(engine)
    with session_scope(engine) as session:
        _bulk(session, first, 10)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        _bulk(session, first, FOLD_EVERY)  # folds inside the transaction, then rolls back
        _delete(session, first, 5)
        raise RuntimeError("roll back")
    _assert_exact(engine, first, second)
    with session_scope(engine, deferred=True) as session:
        assert job_count(session, first.org_id) == 10


def test_the_unfiltered_job_list_totals_by_the_tally_and_counts_no_job(engine: Engine) -> None:
    first, second = _callers(engine)
    with session_scope(engine) as session:
        _bulk(session, first, 260)
        _bulk(session, second, 5)
    statements: list[str] = []

    def capture(_c: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with session_scope(engine, deferred=True) as session:
            page, total = jobs.list_jobs(session, first, jobs.JobFilters(), offset=0, limit=100)
            _, capped = jobs.list_jobs(
                session, first, jobs.JobFilters(), offset=0, limit=100, count_limit=150
            )
            _, deep = jobs.list_jobs(session, first, jobs.JobFilters(), offset=200, limit=50)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert (len(page), total, capped, deep) == (100, 260, 150, 260)
    assert not [s for s in statements if "count(" in s.lower() and "FROM jobs" in s], statements
    with session_scope(engine, deferred=True) as session:  # a filter still counts its matches
        _, filtered = jobs.list_jobs(
            session, first, jobs.JobFilters(sources=["api"]), offset=0, limit=100
        )
    assert filtered == 260


@settings(
    max_examples=examples(25),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["add", "delete"]), st.booleans(), st.integers(0, 300)),
        max_size=6,
    )
)
def test_any_sequence_of_inserts_and_deletes_keeps_the_tally_exact(
    engine: Engine, steps: list[tuple[str, bool, int]]
) -> None:
    first, second = _callers(engine)  # the same two organizations in every example
    for action, in_first, count in steps:
        caller = first if in_first else second
        with session_scope(engine) as session:
            (_bulk if action == "add" else _delete)(session, caller, count)
    _assert_exact(engine, first, second)


def test_concurrent_submissions_keep_the_tally_exact_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    first, second = _callers(engine)
    errors: list[BaseException] = []

    def submit(caller: Caller) -> None:
        try:
            for _ in range(40):
                with session_scope(engine) as session:
                    _bulk(session, caller, 7)
                    _delete(session, caller, 2)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(c,)) for c in (first, second) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    _assert_exact(engine, first, second)
