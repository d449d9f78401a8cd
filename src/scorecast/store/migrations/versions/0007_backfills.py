"""Backfills: a definition's schedule back-run over a time range (``backfills``), one row per
fire time with its state and job (``backfill_fires``).

Revision ID: 0007_backfills
Revises: 0006_run_policies
Create Date: 2026-12-06 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_backfills"
down_revision: str | None = "0006_run_policies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfills",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("definition_id", sa.String(length=24), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("rerun", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=24), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_backfills_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["job_definitions.id"],
            name=op.f("fk_backfills_definition_id_job_definitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_backfills_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfills")),
    )
    op.create_index(
        "ix_backfills_definition_created", "backfills", ["definition_id", "created", "id"]
    )
    op.create_index("ix_backfills_status_created", "backfills", ["status", "created"])
    op.create_table(
        "backfill_fires",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("backfill_id", sa.String(length=24), nullable=False),
        sa.Column("scheduled_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["backfill_id"],
            ["backfills.id"],
            name=op.f("fk_backfill_fires_backfill_id_backfills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfill_fires")),
        sa.UniqueConstraint(
            "backfill_id", "scheduled_time", name=op.f("uq_backfill_fires_backfill_id")
        ),
    )
    op.create_index(
        "ix_backfill_fires_release", "backfill_fires", ["backfill_id", "state", "scheduled_time"]
    )
    op.create_index("ix_backfill_fires_job_id", "backfill_fires", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_backfill_fires_job_id", table_name="backfill_fires")
    op.drop_index("ix_backfill_fires_release", table_name="backfill_fires")
    op.drop_table("backfill_fires")
    op.drop_index("ix_backfills_status_created", table_name="backfills")
    op.drop_index("ix_backfills_definition_created", table_name="backfills")
    op.drop_table("backfills")
