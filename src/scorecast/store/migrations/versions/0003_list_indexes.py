"""Indexes in the order the lists and the queue read: job definitions by (org, created, id)
and due time with the id the scheduler sorts by; jobs by (org, created, id), waiting jobs in
claim order (status, created, id) and by (org, finished) for recent failures.

Revision ID: 0003_list_indexes
Revises: 0002_prediction_warning
Create Date: 2026-12-05 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_list_indexes"
down_revision: str | None = "0002_prediction_warning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_job_definitions_due", table_name="job_definitions")
    op.create_index(
        "ix_job_definitions_due",
        "job_definitions",
        ["enabled", "next_scheduled_run_time", "id"],
    )
    op.create_index(
        "ix_job_definitions_org_created", "job_definitions", ["org_id", "created", "id"]
    )
    op.drop_index("ix_jobs_org_created", table_name="jobs")
    op.create_index("ix_jobs_org_created", "jobs", ["org_id", "created", "id"])
    op.create_index("ix_jobs_queue", "jobs", ["status", "created", "id"])
    op.create_index("ix_jobs_org_finished", "jobs", ["org_id", "finished"])


def downgrade() -> None:
    op.drop_index("ix_jobs_org_finished", table_name="jobs")
    op.drop_index("ix_jobs_queue", table_name="jobs")
    op.drop_index("ix_jobs_org_created", table_name="jobs")
    op.create_index("ix_jobs_org_created", "jobs", ["org_id", "created"])
    op.drop_index("ix_job_definitions_org_created", table_name="job_definitions")
    op.drop_index("ix_job_definitions_due", table_name="job_definitions")
    op.create_index(
        "ix_job_definitions_due", "job_definitions", ["enabled", "next_scheduled_run_time"]
    )
