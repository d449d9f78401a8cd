"""The number of an organization's jobs without counting them: the sum of its ``job_tallies``
rows, which triggers on ``jobs`` keep exact in every transaction and fold now and then
(migration ``0012_job_list_counts``), so the sum reads a few hundred rows however many jobs there
are. The job list's ``totalCount`` of an unfiltered page counted 100,000 rows on every request.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scorecast.store.models import JobTally


def job_count(session: Session, org_id: str) -> int:
    """How many jobs organization ``org_id`` has, as the session's transaction sees them."""
    total = session.scalar(
        select(func.coalesce(func.sum(JobTally.delta), 0)).where(JobTally.org_id == org_id)
    )
    return int(total or 0)
