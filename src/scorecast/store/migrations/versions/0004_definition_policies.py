"""Job definitions' policies: one JSON column holding their wire form (null: the defaults).

Revision ID: 0004_definition_policies
Revises: 0003_list_indexes
Create Date: 2026-12-06 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_definition_policies"
down_revision: str | None = "0003_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_definitions") as batch:
        batch.add_column(sa.Column("policies", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_definitions") as batch:
        batch.drop_column("policies")
