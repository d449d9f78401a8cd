"""Who created or changed an object (``createdBy``/``updatedBy``): the user asking is known from
their token's check and not read again; any other user is read from the store, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, select

from scorecast.service import accounts, definitions
from scorecast.service.caller import Caller
from scorecast.service.job_views import UserRef, job_views, user_refs
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition, User

SPEC = {"intakeSettings": {"type": "localFile"}, "outputSettings": {"type": "localFile"}}


@contextmanager
def _user_reads(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def capture(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM users" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _users(engine: Engine) -> tuple[Caller, str]:
    """Ann (the caller, with a full name) and Bob of one organization; Bob's id."""
    with session_scope(engine) as session:
        accounts.create_token(session, "acme", "ann", full_name="Ann Lee")
        accounts.create_token(session, "acme", "bob")
        users = {u.username: u for u in session.scalars(select(User))}
        for number, user in enumerate(users.values()):
            session.add(
                Job(
                    id=f"{number:024d}",
                    org_id=user.org_id,
                    deployment_id="d" * 24,
                    spec=SPEC,
                    source="api",
                    status="COMPLETED",
                    status_details="Job completed",
                    created_by=user.id,
                )
            )
        return accounts.caller_of(users["ann"]), users["bob"].id


def test_the_callers_own_objects_read_no_user(engine: Engine) -> None:
    ann, _ = _users(engine)
    with session_scope(engine, deferred=True) as session:
        own = session.scalars(select(Job).where(Job.created_by == ann.user_id)).all()
        with _user_reads(engine) as reads:
            (view,) = job_views(session, own, caller=ann)
    assert view.created_by == UserRef(ann.user_id, "ann", "Ann Lee")
    assert reads == []


def test_other_users_are_read_from_the_store(engine: Engine) -> None:
    ann, bob = _users(engine)
    with session_scope(engine, deferred=True) as session:
        every = session.scalars(select(Job).order_by(Job.id)).all()
        with _user_reads(engine) as reads:
            views = job_views(session, every, caller=ann)
        assert {v.created_by for v in views} == {
            UserRef(ann.user_id, "ann", "Ann Lee"),
            UserRef(bob, "bob", None),
        }
        assert len(reads) == 1
        # without a caller, both are read
        assert user_refs(session, {ann.user_id, bob}) == {
            ann.user_id: UserRef(ann.user_id, "ann", "Ann Lee"),
            bob: UserRef(bob, "bob", None),
        }


def test_definitions_name_the_caller_without_reading_it(engine: Engine) -> None:
    ann, bob = _users(engine)
    with session_scope(engine) as session:
        for name, changed_by in (("own", ann.user_id), ("changed by bob", bob)):
            session.add(
                JobDefinition(
                    org_id=ann.org_id,
                    name=name,
                    job_spec=SPEC,
                    deployment_id="d" * 24,
                    created_by=ann.user_id,
                    updated_by=changed_by,
                )
            )
    with session_scope(engine, deferred=True) as session:
        rows = session.scalars(select(JobDefinition).order_by(JobDefinition.name)).all()
        by_name = {row.name: row for row in rows}
        with _user_reads(engine) as reads:
            (own,) = definitions.definition_views(session, [by_name["own"]], caller=ann)
        assert reads == []
        assert own.created_by == own.updated_by == UserRef(ann.user_id, "ann", "Ann Lee")
        with _user_reads(engine) as reads:
            (changed,) = definitions.definition_views(
                session, [by_name["changed by bob"]], caller=ann
            )
        assert len(reads) == 1
        assert changed.updated_by == UserRef(bob, "bob", None)
