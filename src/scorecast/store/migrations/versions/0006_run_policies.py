"""Run policies (issue 21): retries, policy aborts, the slow event, retention, auto-disable.

Jobs: ``fire_attempt`` (the attempt of its fire, from 1), ``retry_of`` (the job it retries),
``not_before`` (a retry waits until then), ``abort_reason`` (a policy aborted it),
``slow_reported``, ``results_deleted_at`` (indexed: rows are pruned a grace period later).
Job definitions: ``disabled_reason``, ``enabled_since``.

Revision ID: 0006_run_policies
Revises: 0005_scheduler
Create Date: 2026-12-06 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_run_policies"
down_revision: str | None = "0005_scheduler"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("results_deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("fire_attempt", sa.Integer(), nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("retry_of", sa.String(24), nullable=True))
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("abort_reason", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("slow_reported", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_jobs_results_deleted_at", "jobs", ["results_deleted_at"])
    with op.batch_alter_table("job_definitions") as batch:
        batch.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("enabled_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_definitions") as batch:
        batch.drop_column("enabled_since")
        batch.drop_column("disabled_reason")
    op.drop_index("ix_jobs_results_deleted_at", "jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in (
            "slow_reported",
            "abort_reason",
            "not_before",
            "retry_of",
            "fire_attempt",
            "results_deleted_at",
        ):
            batch.drop_column(column)
