"""Jobs count the attempts a clean shutdown put back, apart from those whose worker died.

Every claim numbers a new attempt (``jobs.attempt``: outputs, staging and leases are keyed by
it), and a job whose attempt reached ``MAX_ATTEMPTS`` (3) with its worker gone was failed as
"its worker stopped answering in each of 3 attempts". An attempt that a clean shutdown put back
(``release_job``) counted too: two restarts of a server while a job ran, then one real crash,
failed the job. ``released_attempts`` counts the put-back ones; the dead ones are
``attempt - released_attempts``. Existing jobs start at 0 (as before: their put-backs counted).

On PostgreSQL (11 and later) adding a column with a constant default rewrites nothing; SQLite
adds it in place too.

Revision ID: 0022_job_released_attempts
Revises: 0021_console_sessions
Create Date: 2026-12-07 18:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_job_released_attempts"
down_revision: str | None = "0021_console_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "jobs",
        sa.Column("released_attempts", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # a plain DROP COLUMN on SQLite too (3.35 and later): rebuilding ``jobs`` in a batch would
    # trip over its generated columns, and nothing indexes or triggers on this one
    op.drop_column("jobs", "released_attempts")
