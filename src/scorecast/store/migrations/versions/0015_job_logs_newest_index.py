"""The job logs' index on (job_id, id) in place of the one on job_id alone.

A job's page reads its newest log lines (``WHERE job_id = :id ORDER BY id DESC LIMIT :n``).
On PostgreSQL a statement run often on one connection is prepared, and its generic plan (the
job and the limit unknown) walked the whole log table backwards by ``id``, keeping the lines
of one job: 1.8 ms of PostgreSQL's CPU for every job read or submitted with 12,000 lines in
the table, and a scan of every line of the store for an old job. With ``(job_id, id)`` both
plans read the job's lines alone, newest first; the index still serves the jobs' cascade.

Revision ID: 0015_job_logs_newest_index
Revises: 0014_drop_jobs_queue_index
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015_job_logs_newest_index"
down_revision: str | None = "0014_drop_jobs_queue_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_job_logs_job_newest", "job_logs", ["job_id", "id"])
    op.drop_index("ix_job_logs_job_id", table_name="job_logs")


def downgrade() -> None:
    op.create_index("ix_job_logs_job_id", "job_logs", ["job_id"])
    op.drop_index("ix_job_logs_job_newest", table_name="job_logs")
