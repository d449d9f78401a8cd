"""Backfill times keep their job's final status, so that retention pruning the job keeps it.

A backfill's progress read each released time's outcome from its job's row, and counted a time
whose job retention had pruned as ``done``: failed times turned into done ones, and
``scorecast definitions backfill --wait`` then exited 0. ``backfill_fires.job_status`` holds
the final status of the time's job, recorded once the job ended; null while it waits or runs.
``ix_backfill_fires_unrecorded`` (state, job_status) finds the times in flight.

Existing times whose job has ended get its status now. Those whose job was pruned already get
``COMPLETED``: they were reported done until now, and nothing in the store tells more.

On PostgreSQL (11 and later) adding a nullable column rewrites nothing; SQLite adds it in place
too.

Revision ID: 0024_backfill_job_status
Revises: 0023_dataset_categories
Create Date: 2026-12-07 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_backfill_job_status"
down_revision: str | None = "0023_dataset_categories"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("backfill_fires", sa.Column("job_status", sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE backfill_fires SET job_status = ("
        "SELECT jobs.status FROM jobs WHERE jobs.id = backfill_fires.job_id) "
        "WHERE state = 'released' AND EXISTS ("
        "SELECT 1 FROM jobs WHERE jobs.id = backfill_fires.job_id "
        "AND jobs.status IN ('COMPLETED', 'FAILED', 'ABORTED'))"
    )
    op.execute(
        "UPDATE backfill_fires SET job_status = 'COMPLETED' "
        "WHERE state = 'released' AND NOT EXISTS ("
        "SELECT 1 FROM jobs WHERE jobs.id = backfill_fires.job_id)"
    )
    op.create_index(
        op.f("ix_backfill_fires_unrecorded"),
        "backfill_fires",
        ["state", "job_status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_backfill_fires_unrecorded"), table_name="backfill_fires")
    # a plain DROP COLUMN on SQLite too (3.35 and later): no remaining index names it
    op.drop_column("backfill_fires", "job_status")
