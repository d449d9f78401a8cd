"""The jobs' indexes on ``finished`` and on ``results_deleted_at`` hold only the rows that have one.

Every job is written to each of the jobs' indexes when it is created, and again by every
change that is not a heap-only update (its status, its lease, and so on). Two of those indexes
serve only rows whose column is set: ``(org_id, finished)`` the finished jobs (the overview's
failures since a moment), ``results_deleted_at`` the jobs whose results retention deleted
(their rows pruned a grace period later). Each query compares the column (``finished >=
:since``, ``results_deleted_at <= :cutoff``), which both stores take as proof that it is not
null, with the value bound or not, so they read the partial indexes as before. A job that is
waiting or running now writes two index entries fewer each time: of the 22 index entries a
scheduled fire wrote on PostgreSQL (measured with ``pg_waldump``), 20.

Both indexes are built again (on PostgreSQL the jobs table is locked for writes meanwhile,
about a second per million jobs). The downgrade builds the full indexes again.

Revision ID: 0019_jobs_partial_indexes
Revises: 0018_job_tally_bigint
Create Date: 2026-12-07 12:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_jobs_partial_indexes"
down_revision: str | None = "0018_job_tally_bigint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (index, its columns, the column whose rows it holds)
INDEXES = (
    ("ix_jobs_org_finished", ["org_id", "finished"], "finished"),
    ("ix_jobs_results_deleted_at", ["results_deleted_at"], "results_deleted_at"),
)


def upgrade() -> None:
    for name, columns, column in INDEXES:
        op.drop_index(name, table_name="jobs")
        held = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "jobs", columns, sqlite_where=held, postgresql_where=held)


def downgrade() -> None:
    for name, columns, _ in INDEXES:
        op.drop_index(name, table_name="jobs")
        op.create_index(name, "jobs", columns)
