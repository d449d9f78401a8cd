"""``org_rows_page`` (the read-only pages of the job list) on both stores: the same rows, order
and exact total as the ORM page, before and past ``DEEP_OFFSET`` where the page's ids are read
before its rows, and only the caller's organization."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert

from scorecast.service import accounts
from scorecast.store.db import session_scope
from scorecast.store.models import Job
from scorecast.store.org_scope import DEEP_OFFSET, org_page, org_rows_page
from scorecast.store.types import new_id

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MINE = DEEP_OFFSET + 150


@pytest.fixture
def orgs(engine: Engine) -> tuple[str, str]:
    """Two organizations: ``MINE`` jobs in the first (creation times tied in threes, so the id
    breaks ties), 40 in the second."""
    with session_scope(engine) as session:
        ids = []
        for name, count in (("mine", MINE), ("theirs", 40)):
            organization = accounts.ensure_organization(session, name)
            user = accounts.ensure_user(session, organization, f"{name}-user")
            spec = {"deploymentId": "d" * 24, "intakeSettings": {"type": "localFile"}}
            rows = [
                {
                    "id": new_id(),
                    "org_id": organization.id,
                    "deployment_id": "d" * 24,
                    "spec": spec,
                    "created_by": user.id,
                    "created": T0 + timedelta(seconds=n // 3),
                }
                for n in range(count)
            ]
            session.execute(insert(Job), rows)
            ids.append(organization.id)
        return ids[0], ids[1]


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize(
    ("offset", "limit"),
    [(0, 100), (DEEP_OFFSET - 50, 100), (DEEP_OFFSET, 100), (MINE - 30, 100), (MINE, 100)],
)
def test_row_pages_match_the_orm_pages(
    engine: Engine, orgs: tuple[str, str], offset: int, limit: int, ascending: bool
) -> None:
    mine, _ = orgs
    order = (Job.created.asc(), Job.id.asc()) if ascending else None
    with session_scope(engine, deferred=True) as session:
        rows, total = org_rows_page(session, Job, mine, offset=offset, limit=limit, order_by=order)
        objects, orm_total = org_page(
            session, Job, mine, offset=offset, limit=limit, order_by=order
        )
        assert [row.id for row in rows] == [job.id for job in objects]
        assert [row.spec for row in rows] == [job.spec for job in objects]
        assert [row.created for row in rows] == [job.created for job in objects]
    assert total == orm_total == MINE
    assert len(rows) == max(0, min(limit, MINE - offset))


def test_a_deep_row_page_counts_and_reads_only_the_callers_jobs(
    engine: Engine, orgs: tuple[str, str]
) -> None:
    mine, theirs = orgs
    with session_scope(engine, deferred=True) as session:
        rows, total = org_rows_page(session, Job, mine, offset=DEEP_OFFSET, limit=100)
        their_rows, their_total = org_rows_page(session, Job, theirs, offset=0, limit=100)
    assert {row.org_id for row in rows} == {mine}
    assert total == MINE
    assert {row.org_id for row in their_rows} == {theirs}
    assert their_total == len(their_rows) == 40
