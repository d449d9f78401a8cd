"""The queue tally (migration ``0016_queue_tally``): the sum of ``queue_tallies`` is the number of
waiting jobs (``JOB_WAITING``) on both stores, through jobs inserted waiting or not, claimed,
queued again, aborted, made ready by their upload, deleted, any sequence of these (hypothesis),
claims by the worker's own code, concurrent transactions on PostgreSQL and a rolled-back
transaction; its rows stay few (the triggers fold them). ``queue_positions`` reads it
(``tests/runtime/test_overview_queries.py`` checks the positions themselves)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from scorecast.service import accounts
from scorecast.service.caller import Caller
from scorecast.service.claims import claim_next_job
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.models import JOB_WAITING, Job, Organization, QueueTally
from scorecast.store.types import new_id
from tallies import SEQUENCES, downgrade, in_threads

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BEFORE = "0015_job_logs_newest_index"
#: the fold period of the migration's triggers
FOLD_EVERY = 256
SPEC = {"deploymentId": "d" * 24, "intakeSettings": {"type": "s3"}}
#: what a step does to ``count`` jobs, as the service's code would (the values it sets)
CHANGES: dict[str, dict[str, Any]] = {
    "claim": {"status": "RUNNING", "queued": False},
    "queue again": {"status": "INITIALIZING", "queued": True},
    "abort": {"abort_requested": True},
    "upload done": {"intake_ready": True},
    "finish": {"status": "COMPLETED", "queued": False},
    "progress": {"percentage_completed": 50.0},  # names none of the waiting columns
}


def _caller(engine: Engine) -> Caller:
    with session_scope(engine) as session:
        organization = accounts.ensure_organization(session, "queue")
        user = accounts.ensure_user(session, organization, "queue-user")
        return Caller(org_id=organization.id, user_id=user.id, username=user.username)


def _add(session: Session, caller: Caller, count: int, *, waiting: bool, ready: bool) -> None:
    if count:
        rows = [
            {
                "id": new_id(),
                "org_id": caller.org_id,
                "deployment_id": "d" * 24,
                "source": "api",
                "spec": SPEC,
                "created_by": caller.user_id,
                "created": T0 + timedelta(seconds=n),
                "queued": waiting,
                "intake_ready": ready,
            }
            for n in range(count)
        ]
        session.execute(insert(Job), rows)


def _some(session: Session, count: int) -> list[str]:
    return list(session.scalars(select(Job.id).order_by(Job.id).limit(count)).all())


def _waiting(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Job).where(JOB_WAITING)) or 0


def _tally(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(QueueTally.delta), 0))) or 0)


def _assert_exact(engine: Engine) -> None:
    with session_scope(engine, deferred=True) as session:
        assert _tally(session) == _waiting(session)
        rows = session.scalar(select(func.count()).select_from(QueueTally)) or 0
    assert rows <= FOLD_EVERY + 1, rows


@SEQUENCES
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["add", "delete", *CHANGES]),
            st.integers(0, 300),
            st.booleans(),
            st.booleans(),
        ),
        max_size=8,
    )
)
def test_any_sequence_of_changes_keeps_the_tally_exact(
    engine: Engine, steps: list[tuple[str, int, bool, bool]]
) -> None:
    caller = _caller(engine)
    for action, count, waiting, ready in steps:
        with session_scope(engine) as session:
            if action == "add":
                _add(session, caller, count, waiting=waiting, ready=ready)
            elif action == "delete":
                session.execute(delete(Job).where(Job.id.in_(_some(session, count))))
            else:
                ids = _some(session, count)
                session.execute(update(Job).where(Job.id.in_(ids)).values(**CHANGES[action]))
        _assert_exact(engine)


def test_claims_by_the_worker_keep_the_tally_exact(engine: Engine) -> None:
    caller = _caller(engine)
    with session_scope(engine) as session:
        _add(session, caller, FOLD_EVERY + 20, waiting=True, ready=True)
    claimed = 0
    while claimed < FOLD_EVERY + 5:  # one tally row each: crosses a fold
        with session_scope(engine) as session:
            assert claim_next_job(session, "worker", T0 + timedelta(days=1), 60) is not None
        claimed += 1
    _assert_exact(engine)
    with session_scope(engine, deferred=True) as session:
        assert _tally(session) == 15


def test_a_rolled_back_transaction_leaves_the_tally_as_it_was(engine: Engine) -> None:
    caller = _caller(engine)
    with session_scope(engine) as session:
        _add(session, caller, 10, waiting=True, ready=True)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        _add(session, caller, FOLD_EVERY, waiting=True, ready=True)
        for job_id in _some(session, FOLD_EVERY):  # a row each: folds, then rolls back
            session.execute(update(Job).where(Job.id == job_id).values(**CHANGES["claim"]))
        raise RuntimeError("roll back")
    _assert_exact(engine)
    with session_scope(engine, deferred=True) as session:
        assert _tally(session) == 10


#: each thread's rounds of the concurrent test: about 5 tally ids a round (4 on the threads
#: whose jobs are not ready), so the threads cross about 4 folds, some at once
ROUNDS = 40


def test_concurrent_transactions_keep_the_tally_exact_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    caller = _caller(engine)
    claims: list[int] = []

    def work(index: int) -> None:
        for _ in range(ROUNDS):
            with session_scope(engine) as session:
                _add(session, caller, 5, waiting=True, ready=index % 2 == 0)
            with session_scope(engine) as session:  # the worker's claim, locks skipped
                if claim_next_job(session, f"worker-{index}", T0 + timedelta(days=1), 60):
                    claims.append(index)

    in_threads(work, 6)
    _assert_exact(engine)
    with session_scope(engine, deferred=True) as session:
        assert _tally(session) == 3 * ROUNDS * 5 - len(claims)


def test_the_upgrade_counts_the_waiting_jobs_and_the_downgrade_drops_the_tally(
    empty_url: str,
) -> None:
    migrate(empty_url, BEFORE)
    engine = create_engine_for(empty_url, poolclass=NullPool)
    try:
        caller = _caller(engine)
        with session_scope(engine) as session:
            _add(session, caller, 30, waiting=True, ready=True)
            _add(session, caller, 12, waiting=True, ready=False)
            _add(session, caller, 5, waiting=False, ready=True)
        migrate(empty_url)
        _assert_exact(engine)
        with session_scope(engine, deferred=True) as session:
            assert _tally(session) == 30

        downgrade(empty_url, BEFORE)
        assert "queue_tallies" not in inspect(engine).get_table_names()
        with session_scope(engine) as session:  # the jobs' triggers are gone with the table
            _add(session, caller, 3, waiting=True, ready=True)
            session.execute(update(Job).values(intake_ready=True))

        migrate(empty_url)
        _assert_exact(engine)
        with session_scope(engine, deferred=True) as session:
            assert _tally(session) == 45
    finally:
        engine.dispose()


def test_deleting_an_organization_takes_its_waiting_jobs_out_of_the_tally(engine: Engine) -> None:
    """Its jobs go by the foreign key's cascade, whose deletes fire the jobs' triggers too."""
    caller = _caller(engine)
    with session_scope(engine) as session:
        other = accounts.ensure_organization(session, "other")
        other_user = accounts.ensure_user(session, other, "other-user")
        gone = Caller(org_id=other.id, user_id=other_user.id, username=other_user.username)
        _add(session, caller, 7, waiting=True, ready=True)
        _add(session, gone, 20, waiting=True, ready=True)
    with session_scope(engine) as session:
        session.execute(delete(Organization).where(Organization.id == gone.org_id))
    _assert_exact(engine)
    with session_scope(engine, deferred=True) as session:
        assert _tally(session) == 7
