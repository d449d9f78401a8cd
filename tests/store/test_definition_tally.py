"""The definitions' tally (``store.definition_tallies``, migration ``0017_definition_tally``) stays
exact on both stores, for each organization and each of its deployments: through definitions
created by the service, bulk inserts, deletions, moves to another deployment, any sequence of
them (hypothesis), an organization deleted, concurrent transactions on PostgreSQL and a
rolled-back transaction; its rows stay few (the triggers fold them). The definitions list
totals by it (no count of the definitions) unless it searches names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, event, func, insert, inspect, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from scorecast.service import accounts, definitions
from scorecast.service.caller import Caller
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.definition_tallies import definition_count
from scorecast.store.models import DefinitionTally, JobDefinition, Organization
from scorecast.store.types import new_id
from tallies import SEQUENCES, downgrade, in_threads

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BEFORE = "0016_queue_tally"
#: the fold period of the migration's triggers
FOLD_EVERY = 256
DEPLOYMENTS = ("d" * 24, "e" * 24)
#: unique definition names across a test (names are unique per organization)
_NUMBERS = count()


def _callers(engine: Engine, *names: str) -> list[Caller]:
    found = []
    with session_scope(engine) as session:
        for name in names:
            organization = accounts.ensure_organization(session, name)
            user = accounts.ensure_user(session, organization, f"{name}-user")
            found.append(Caller(org_id=organization.id, user_id=user.id, username=user.username))
    return found


def _add(session: Session, caller: Caller, how_many: int, deployment: str = DEPLOYMENTS[0]) -> None:
    if how_many:
        rows = []
        for _ in range(how_many):
            number = next(_NUMBERS)
            rows.append(
                {
                    "id": new_id(),
                    "org_id": caller.org_id,
                    "name": f"definition {number}",
                    "enabled": False,
                    "job_spec": {"deploymentId": deployment},
                    "deployment_id": deployment,
                    "created_by": caller.user_id,
                    "updated_by": caller.user_id,
                    "created": T0 + timedelta(seconds=number),
                    "updated": T0 + timedelta(seconds=number),
                }
            )
        session.execute(insert(JobDefinition), rows)


def _some(session: Session, caller: Caller, how_many: int) -> list[str]:
    return list(
        session.scalars(
            select(JobDefinition.id)
            .where(JobDefinition.org_id == caller.org_id)
            .order_by(JobDefinition.id)
            .limit(how_many)
        ).all()
    )


def _assert_exact(engine: Engine, *callers: Caller) -> None:
    with session_scope(engine, deferred=True) as session:
        for caller in callers:
            owned = JobDefinition.org_id == caller.org_id
            real = session.scalar(select(func.count()).select_from(JobDefinition).where(owned))
            assert definition_count(session, caller.org_id) == real
            for deployment in DEPLOYMENTS:
                of = JobDefinition.deployment_id == deployment
                real = session.scalar(
                    select(func.count()).select_from(JobDefinition).where(owned, of)
                )
                assert definition_count(session, caller.org_id, deployment) == real
        rows = session.scalar(select(func.count()).select_from(DefinitionTally)) or 0
    assert rows <= FOLD_EVERY + 2 * len(DEPLOYMENTS) * len(callers), rows


@SEQUENCES
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["add", "delete", "move"]),
            st.booleans(),
            st.integers(0, 300),
            st.sampled_from(DEPLOYMENTS),
        ),
        max_size=6,
    )
)
def test_any_sequence_of_changes_keeps_the_tally_exact(
    engine: Engine, steps: list[tuple[str, bool, int, str]]
) -> None:
    first, second = _callers(engine, "first", "second")
    for action, in_first, how_many, deployment in steps:
        caller = first if in_first else second
        with session_scope(engine) as session:
            if action == "add":
                _add(session, caller, how_many, deployment)
            elif action == "delete":
                ids = _some(session, caller, how_many)
                session.execute(delete(JobDefinition).where(JobDefinition.id.in_(ids)))
            else:
                ids = _some(session, caller, how_many)
                session.execute(
                    update(JobDefinition)
                    .where(JobDefinition.id.in_(ids))
                    .values(deployment_id=deployment)
                )
    _assert_exact(engine, first, second)


def test_the_list_totals_by_the_tally_and_counts_only_a_name_search(engine: Engine) -> None:
    first, second = _callers(engine, "first", "second")
    with session_scope(engine) as session:
        _add(session, first, 260)
        _add(session, first, 40, DEPLOYMENTS[1])
        _add(session, second, 5)
    statements: list[str] = []

    def capture(_c: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    def total(**query: object) -> int:
        page = {"offset": 0, "limit": 100, **query}
        return definitions.list_definitions(session, first, **page)[1]  # type: ignore[arg-type]

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with session_scope(engine, deferred=True) as session:
            totals = [
                total(),
                total(offset=200, limit=50),
                total(offset=400),  # past the end
                total(deployment_id=DEPLOYMENTS[0]),
                total(deployment_id=DEPLOYMENTS[1], limit=10),
                total(deployment_id=DEPLOYMENTS[1], offset=100),  # past the end
            ]
            counted = total(search_name="definition", limit=10)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert totals == [300, 300, 300, 260, 40, 40]
    assert counted == 300
    counts = [s for s in statements if "count(" in s.lower() and "FROM job_definitions" in s]
    assert len(counts) == 1, counts  # the name search's alone


def test_an_organization_deleted_takes_its_definitions_out_of_the_tally(engine: Engine) -> None:
    kept, gone = _callers(engine, "kept", "gone")
    with session_scope(engine) as session:
        _add(session, kept, 7)
        _add(session, gone, 20, DEPLOYMENTS[1])
    with session_scope(engine) as session:
        session.execute(delete(Organization).where(Organization.id == gone.org_id))
    _assert_exact(engine, kept, gone)
    with session_scope(engine, deferred=True) as session:
        assert definition_count(session, gone.org_id) == 0


def test_a_rolled_back_transaction_leaves_the_tally_as_it_was(engine: Engine) -> None:
    (caller,) = _callers(engine, "first")
    with session_scope(engine) as session:
        _add(session, caller, 10)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        for _ in range(FOLD_EVERY + 1):  # a row each statement: folds, then rolls back
            _add(session, caller, 1, DEPLOYMENTS[1])
        raise RuntimeError("roll back")
    _assert_exact(engine, caller)
    with session_scope(engine, deferred=True) as session:
        assert definition_count(session, caller.org_id) == 10


#: each thread's rounds in the concurrent test: 6 threads make about 8 tally ids a round
ROUNDS = 120


def test_concurrent_transactions_keep_the_tally_exact_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    callers = _callers(engine, "first", "second")

    def work(index: int) -> None:
        caller = callers[index % 2]
        for round_ in range(ROUNDS):  # a tally row a statement
            with session_scope(engine) as session:
                _add(session, caller, 3, DEPLOYMENTS[round_ % 2])
                if round_ % 3 == 0:
                    ids = _some(session, caller, 1)
                    session.execute(delete(JobDefinition).where(JobDefinition.id.in_(ids)))

    in_threads(work, 6)
    with session_scope(engine, deferred=True) as session:  # the threads crossed several folds
        ids = session.scalar(text("SELECT last_value FROM definition_tallies_id_seq")) or 0
    assert ids >= 3 * FOLD_EVERY, ids
    _assert_exact(engine, *callers)


def test_the_upgrade_counts_the_definitions_and_the_downgrade_drops_the_tally(
    empty_url: str,
) -> None:
    migrate(empty_url, BEFORE)
    engine = create_engine_for(empty_url, poolclass=NullPool)
    try:
        (caller,) = _callers(engine, "first")
        with session_scope(engine) as session:
            _add(session, caller, 30)
            _add(session, caller, 12, DEPLOYMENTS[1])
        migrate(empty_url)
        _assert_exact(engine, caller)

        downgrade(empty_url, BEFORE)
        assert "definition_tallies" not in inspect(engine).get_table_names()
        with session_scope(engine) as session:  # the definitions' triggers are gone with it
            _add(session, caller, 3)
            session.execute(update(JobDefinition).values(deployment_id=DEPLOYMENTS[1]))

        migrate(empty_url)
        _assert_exact(engine, caller)
        with session_scope(engine, deferred=True) as session:
            assert definition_count(session, caller.org_id, DEPLOYMENTS[1]) == 45
    finally:
        engine.dispose()
