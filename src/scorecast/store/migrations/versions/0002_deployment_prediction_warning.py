"""Deployments: prediction warning settings (``deployments.prediction_warning``, JSON, null
until a user changes them: the defaults follow the model's registration range).

Revision ID: 0002_prediction_warning
Revises: 0001
Create Date: 2026-12-05 21:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_prediction_warning"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("prediction_warning", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("prediction_warning")
