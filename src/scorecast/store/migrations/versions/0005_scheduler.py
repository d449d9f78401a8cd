"""The set-based scheduler: scheduler heartbeats (liveness spans), each fire's lateness, the
``queue`` overlap policy's flag on jobs that wait behind their definition's active run, and a
definition's next fire time with its jitter (``next_due_at``).

Revision ID: 0005_scheduler
Revises: 0004_definition_policies
Create Date: 2026-12-06 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_scheduler"
down_revision: str | None = "0004_definition_policies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeats",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_scheduler_heartbeats_last_seen", "scheduler_heartbeats", ["last_seen"], unique=False
    )
    with op.batch_alter_table("schedule_fires") as batch:
        batch.add_column(sa.Column("lateness_seconds", sa.Float(), nullable=True))
    with op.batch_alter_table("job_definitions") as batch:
        batch.add_column(sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("after_previous", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("job_definitions") as batch:
        batch.drop_column("next_due_at")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("after_previous")
    with op.batch_alter_table("schedule_fires") as batch:
        batch.drop_column("lateness_seconds")
    op.drop_index("ix_scheduler_heartbeats_last_seen", table_name="scheduler_heartbeats")
    op.drop_table("scheduler_heartbeats")
