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

Both indexes are built again while the jobs table is locked for writes (0.8 s on PostgreSQL
and 0.5 s on SQLite for 100,000 jobs on a 2-core development machine, busy with a test run
beside it). On PostgreSQL each is built under a new name beside the old one, and the old ones
are dropped and the new renamed at the end: dropping an index locks out readers too, until the
migration commits, so readers wait only for that end, not for the builds. (SQLite cannot rename
an index, and its readers never wait for a writer.) The downgrade builds the full indexes again
the same way.

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
    _rebuild(partial=True)


def downgrade() -> None:
    _rebuild(partial=False)


def _rebuild(*, partial: bool) -> None:
    """Each index again, holding only the rows whose column is set when ``partial``."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, columns, column in INDEXES:
        held = sa.text(f"{column} IS NOT NULL") if partial else None
        if not postgresql:
            op.drop_index(name, table_name="jobs")
        op.create_index(
            f"{name}_new" if postgresql else name,
            "jobs",
            columns,
            sqlite_where=held,
            postgresql_where=held,
        )
    if postgresql:  # the old ones out and the new in last (see the module docstring)
        for name, _, _ in INDEXES:
            op.drop_index(name, table_name="jobs")
            op.execute(f"ALTER INDEX {name}_new RENAME TO {name}")
