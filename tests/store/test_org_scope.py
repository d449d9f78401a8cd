"""Organization scoping (``store/org_scope.py``) on both stores: another organization's id is
answered exactly like an unknown one, and a page counts and orders only the caller's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scorecast.errors import NotFound
from scorecast.service import accounts
from scorecast.store.db import session_scope
from scorecast.store.models import Credential, JobDefinition
from scorecast.store.org_scope import (
    consistent_total,
    exists_in_org,
    in_org,
    not_found,
    org_page,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _organization(session: Session, name: str) -> tuple[str, str]:
    organization = accounts.ensure_organization(session, name)
    user = accounts.ensure_user(session, organization, f"{name}-user")
    return organization.id, user.id


def _credentials(session: Session, org_id: str, user_id: str, count: int) -> list[str]:
    rows = [
        Credential(
            org_id=org_id,
            name=f"credential {n}",
            credential_type="basic",
            secret=b"x",
            created_by=user_id,
            created=T0 + timedelta(minutes=n % 3),  # ties, broken by id
        )
        for n in range(count)
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


@pytest.fixture
def two_orgs(engine: Engine) -> tuple[str, list[str], str, list[str]]:
    with session_scope(engine) as session:
        mine, my_user = _organization(session, "mine")
        theirs, their_user = _organization(session, "theirs")
        return (
            mine,
            _credentials(session, mine, my_user, 7),
            theirs,
            _credentials(session, theirs, their_user, 4),
        )


def test_another_organizations_object_is_not_found_like_an_unknown_one(
    engine: Engine, two_orgs: tuple[str, list[str], str, list[str]]
) -> None:
    mine, my_ids, _, their_ids = two_orgs
    with session_scope(engine) as session:
        assert in_org(session, Credential, mine, my_ids[0]).id == my_ids[0]
        assert in_org(session, Credential, mine, my_ids[0], lock=True).id == my_ids[0]
        answers = []
        for object_id in (their_ids[0], "f" * 24, 42):
            with pytest.raises(NotFound) as caught:
                in_org(session, Credential, mine, object_id)
            answers.append((caught.value.status_code, caught.value.errors))
            assert caught.value.message == f"credential {object_id} not found"
        assert answers == [(404, {"credentialId": "not found"})] * 3
        assert exists_in_org(session, Credential, mine, my_ids[1])
        assert not exists_in_org(session, Credential, mine, their_ids[1])
        assert not exists_in_org(session, Credential, mine, None)


def test_not_found_names_the_field_that_carried_the_id() -> None:
    assert not_found(JobDefinition, "x").errors == {"jobDefinitionId": "not found"}
    error = not_found(JobDefinition, "x", field="relatedEntityId")
    assert error.errors == {"relatedEntityId": "not found"}
    assert error.message == "batch prediction job definition x not found"


def test_pages_hold_only_the_organizations_rows_newest_first_without_gaps(
    engine: Engine, two_orgs: tuple[str, list[str], str, list[str]]
) -> None:
    mine, my_ids, _, _ = two_orgs
    with session_scope(engine) as session:
        seen: list[Credential] = []
        for offset in range(0, 9, 3):
            rows, total = org_page(session, Credential, mine, offset=offset, limit=3)
            assert total == 7
            seen.extend(rows)
        assert sorted(row.id for row in seen) == sorted(my_ids)
        order = [(row.created, row.id) for row in seen]
        assert order == sorted(order, reverse=True)
        named = Credential.name.in_(["credential 1", "credential 2"])
        rows, total = org_page(session, Credential, mine, named, offset=0, limit=1)
        assert (len(rows), total) == (1, 2)
        _, counted = org_page(session, Credential, mine, offset=0, limit=1, count_limit=5)
        assert counted == 5
        oldest = (Credential.created.asc(), Credential.id.asc())
        rows, _ = org_page(session, Credential, mine, offset=0, limit=7, order_by=oldest)
        assert [row.id for row in rows] == [row.id for row in reversed(seen)]


@given(
    rows=st.integers(min_value=0, max_value=300),
    counted=st.integers(min_value=0, max_value=300),
    offset=st.integers(min_value=0, max_value=300),
    limit=st.integers(min_value=1, max_value=100),
)
def test_a_pages_total_agrees_with_its_rows(
    rows: int, counted: int, offset: int, limit: int
) -> None:
    """Whatever the count said (another transaction may have added or removed rows between
    the two statements), the total is never below the rows the page shows, and a short page,
    the last, gives the exact number; a count that agrees with the rows is kept."""
    shown = max(0, min(limit, rows - offset))
    total = consistent_total(counted, offset=offset, limit=limit, shown=shown)
    assert total >= offset + shown or (shown == 0 and offset > 0)
    if shown < limit and (shown or not offset):
        assert total == rows
    if counted == rows:
        assert total == rows
