"""The definition tally (``store.definition_tallies``, migration ``0016_definition_tallies``)
stays exact on both stores: through bulk inserts, deletions one by one and in bulk, a definition
moved to another organization, any sequence of them (hypothesis), concurrent creations on
PostgreSQL, a rolled-back transaction and an organization deleted with its definitions; and the
definitions list totals from it without counting the definitions."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, event, func, insert, select, update

from hypothesis_profiles import examples
from scorecast.service import accounts, definitions
from scorecast.service.caller import Caller
from scorecast.store.db import session_scope
from scorecast.store.definition_tallies import definition_count
from scorecast.store.models import DefinitionTally, JobDefinition, Organization
from scorecast.store.types import new_id

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = {"deploymentId": "d" * 24, "intakeSettings": {"type": "localFile"}}
_names = itertools.count()


def _callers(engine: Engine, *names: str) -> list[Caller]:
    with session_scope(engine) as session:
        found = []
        for name in names:
            organization = accounts.ensure_organization(session, name)
            user = accounts.ensure_user(session, organization, f"{name}-user")
            found.append(accounts.caller_of(user))
        return found


def _add(engine: Engine, caller: Caller, count: int) -> None:
    if not count:
        return
    rows = [
        {
            "id": new_id(),
            "org_id": caller.org_id,
            "name": f"definition {next(_names)}",
            "enabled": False,
            "job_spec": SPEC,
            "deployment_id": "d" * 24,
            "created_by": caller.user_id,
            "updated_by": caller.user_id,
            "created": T0 + timedelta(seconds=n),
            "updated": T0,
        }
        for n in range(count)
    ]
    with session_scope(engine) as session:
        session.execute(insert(JobDefinition), rows)


def _ids(engine: Engine, caller: Caller, count: int) -> list[str]:
    with session_scope(engine, deferred=True) as session:
        return list(
            session.scalars(
                select(JobDefinition.id)
                .where(JobDefinition.org_id == caller.org_id)
                .order_by(JobDefinition.id)
                .limit(count)
            )
        )


def _delete(engine: Engine, caller: Caller, count: int) -> None:
    ids = _ids(engine, caller, count)
    if ids:
        with session_scope(engine) as session:
            session.execute(delete(JobDefinition).where(JobDefinition.id.in_(ids)))


def _move(engine: Engine, source: Caller, target: Caller, count: int) -> None:
    """Move definitions to another organization (no code does; the tally stays exact)."""
    ids = _ids(engine, source, count)
    if ids:
        with session_scope(engine) as session:
            session.execute(
                update(JobDefinition)
                .where(JobDefinition.id.in_(ids))
                .values(org_id=target.org_id, name=JobDefinition.name + " moved")
            )


def _assert_exact(engine: Engine, *callers: Caller) -> None:
    with session_scope(engine, deferred=True) as session:
        for caller in callers:
            counted = session.scalar(
                select(func.count())
                .select_from(JobDefinition)
                .where(JobDefinition.org_id == caller.org_id)
            )
            assert definition_count(session, caller.org_id) == counted


def test_the_tally_follows_inserts_deletions_and_moves(engine: Engine) -> None:
    first, second = _callers(engine, "first", "second")
    _add(engine, first, 30)
    _add(engine, second, 5)
    _assert_exact(engine, first, second)
    for definition_id in _ids(engine, first, 3):  # one by one, as the API deletes
        with session_scope(engine) as session:
            definitions.delete_definition(session, first, definition_id)
    _delete(engine, second, 2)
    _move(engine, first, second, 4)
    _assert_exact(engine, first, second)
    with session_scope(engine, deferred=True) as session:
        assert definition_count(session, first.org_id) == 23
        assert definition_count(session, second.org_id) == 7


def test_a_rolled_back_transaction_leaves_the_tally_as_it_was(engine: Engine) -> None:
    (caller,) = _callers(engine, "only")
    _add(engine, caller, 4)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.execute(delete(JobDefinition).where(JobDefinition.org_id == caller.org_id))
        raise RuntimeError("rolled back")
    _assert_exact(engine, caller)


def test_an_organization_deleted_takes_its_tally_with_it(engine: Engine) -> None:
    gone, kept = _callers(engine, "gone", "kept")
    _add(engine, gone, 6)
    _add(engine, kept, 2)
    with session_scope(engine) as session:
        session.execute(delete(Organization).where(Organization.id == gone.org_id))
    with session_scope(engine, deferred=True) as session:
        assert session.get(DefinitionTally, gone.org_id) is None
        assert definition_count(session, gone.org_id) == 0
    _assert_exact(engine, kept)


@contextmanager
def _definition_counts(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def capture(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "count(" in statement.lower() and "job_definitions" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def test_the_definitions_list_totals_from_the_tally(engine: Engine) -> None:
    (caller,) = _callers(engine, "listed")
    _add(engine, caller, 12)
    with _definition_counts(engine) as counts, session_scope(engine, deferred=True) as session:
        page, total = definitions.list_definitions(session, caller, offset=0, limit=5)
        filtered, narrowed = definitions.list_definitions(
            session, caller, search_name="definition", offset=0, limit=5
        )
    assert (len(page), total) == (5, 12)
    assert (len(filtered), narrowed) == (5, 12)
    assert len(counts) == 1, counts  # the filtered list counts; the plain one does not


_STEP = st.tuples(
    st.sampled_from(["add", "delete", "move"]), st.booleans(), st.integers(min_value=0, max_value=9)
)


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(_STEP, max_size=8))
def test_any_sequence_keeps_the_tally_exact(
    engine: Engine, steps: list[tuple[str, bool, int]]
) -> None:
    first, second = _callers(engine, "first", "second")  # the same two in every example
    for action, in_first, count in steps:
        caller, other = (first, second) if in_first else (second, first)
        if action == "add":
            _add(engine, caller, count)
        elif action == "delete":
            _delete(engine, caller, count)
        else:
            _move(engine, caller, other, count)
    _assert_exact(engine, first, second)


def test_concurrent_creations_keep_the_tally_exact_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    first, second = _callers(engine, "first", "second")
    errors: list[BaseException] = []

    def create(caller: Caller) -> None:
        try:
            for _ in range(15):
                _add(engine, caller, 3)
                _delete(engine, caller, 1)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(c,)) for c in (first, second) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    _assert_exact(engine, first, second)
