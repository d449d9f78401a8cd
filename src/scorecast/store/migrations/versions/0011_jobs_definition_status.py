"""An index on jobs by (definition, status): the scheduler reads each due definition's waiting
and running jobs through it (``service.fire_writer``), instead of every waiting job of the store
through the claim index (a cost per batch that grew with the queue).

Revision ID: 0011_jobs_definition_status
Revises: 0010_api_indexes
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011_jobs_definition_status"
down_revision: str | None = "0010_api_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_jobs_definition_status", "jobs", ["definition_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_jobs_definition_status", table_name="jobs")
