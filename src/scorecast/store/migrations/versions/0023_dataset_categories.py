"""Datasets keep their own categories, so that ``Dataset.modify`` and
``create_from_file(categories=...)`` of the official client work.

Every dataset used to report the categories ``["PREDICTION"]`` from a constant, and there was no
``PATCH datasets/{id}/``: the client's ``create_from_file`` uploads first and then PATCHes the
categories, so it raised (405) and left the uploaded dataset behind. ``datasets.categories`` is
a JSON list of DataRobot's categories (``TRAINING``, ``PREDICTION``, ``SAMPLE``); existing
datasets get ``["PREDICTION"]``, the categories they reported until now.

On PostgreSQL (11 and later) adding a column with a constant default rewrites nothing; SQLite
adds it in place too.

Revision ID: 0023_dataset_categories
Revises: 0022_job_released_attempts
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_dataset_categories"
down_revision: str | None = "0022_job_released_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "datasets",
        sa.Column("categories", sa.JSON(), nullable=False, server_default='["PREDICTION"]'),
    )


def downgrade() -> None:
    # a plain DROP COLUMN on SQLite too (3.35 and later): nothing indexes or triggers on it
    op.drop_column("datasets", "categories")
