"""The job tally's ids in 64 bits on PostgreSQL, as the queue and definition tallies' are.

Every statement that inserts or deletes jobs takes an id of ``job_tallies`` (a row per key it
changes; the folds take one each too). The column was a 32-bit ``serial``: after about 2,100
million such rows its sequence stopped (``nextval: reached maximum value of sequence
"job_tallies_id_seq" (2147483647)``) and every job submitted or fired failed. Now ``bigint``,
column and sequence. SQLite needs nothing: its rowid is 64 bits already.

The table is rewritten (``ALTER COLUMN ... TYPE``) under an exclusive lock: meanwhile writers of
jobs and the job lists' totals wait. It holds about one row per key, since the folds keep it
small, so that is moments. The downgrade narrows both again, and fails if an id no longer fits.

Revision ID: 0018_job_tally_bigint
Revises: 0017_definition_tally
Create Date: 2026-12-07 12:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018_job_tally_bigint"
down_revision: str | None = "0017_definition_tally"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _retype(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE job_tallies ALTER COLUMN id TYPE {kind}")
    op.execute(f"ALTER SEQUENCE job_tallies_id_seq AS {kind}")


def upgrade() -> None:
    _retype("bigint")


def downgrade() -> None:
    _retype("integer")
