"""The number of jobs without counting them: the sum of ``job_tallies`` rows, which triggers on
``jobs`` keep exact in every transaction and fold now and then (migrations
``0012_job_list_counts``, ``0013_job_tally_keys``), so a sum reads a few hundred rows however
many jobs there are. Each row counts the jobs of one (organization, deployment, source, intake
type, output type), values a job keeps for life, so any filter on those columns is a sum too.
The job list's ``totalCount`` counted up to 100,000 index entries on every full page.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from scorecast.store.models import JobTally


def job_count(session: Session, org_id: str, *conditions: ColumnElement[bool]) -> int:
    """How many jobs organization ``org_id`` has, as the session's transaction sees them; with
    ``conditions`` on ``JobTally``'s key columns, how many of them match (the same conditions on
    ``Job``'s columns select exactly the jobs counted)."""
    total = session.scalar(
        select(func.coalesce(func.sum(JobTally.delta), 0)).where(
            JobTally.org_id == org_id, *conditions
        )
    )
    return int(total or 0)
