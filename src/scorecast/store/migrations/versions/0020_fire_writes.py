"""A fire writes less: the schedule fires lose an index that another one covers, and on
PostgreSQL the definitions' pages keep room for the update every fire makes.

``ix_schedule_fires_definition_id`` (``definition_id``) repeats the first column of the unique
``(definition_id, scheduled_time)`` index, which serves every query that reads it (a
definition's fires, newest first; the fire of a job; deleting a definition's fires): each fire
wrote an entry in both.

Every fire updates its definition's row (its next and last run times), and the update moves the
row to another page when its own is full: PostgreSQL then logs a lock of the old row besides the
update and the whole new row (about 500 bytes), against only the changed bytes when the new row
stays on the page. With ``fillfactor = 50`` inserts leave half of each page of
``job_definitions`` free, so a fire's update stays on its page; vacuum frees the room again.
Measured over 20,000 fires of one scheduler on a 2-core development machine
(``bench/scheduler_bench.py``, ``pg_waldump``): 91 MB of write-ahead log before, 81 MB after
(about 4.8 and 4.2 kB a fire): the updates' records a fifth of their size, and one lock
record and one index entry fewer a fire (18.8 index entries instead of 19.8).

The fill factor applies to pages written from now on (``ALTER TABLE … SET`` does not rewrite the
table; a ``VACUUM FULL`` would); SQLite has none. Dropping the index locks the fires' table for
a moment; nothing is rebuilt.

Revision ID: 0020_fire_writes
Revises: 0019_jobs_partial_indexes
Create Date: 2026-12-07 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020_fire_writes"
down_revision: str | None = "0019_jobs_partial_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the share of each page of ``job_definitions`` that inserts fill (PostgreSQL); the model's
#: ``postgresql_with`` says the same
DEFINITIONS_FILLFACTOR = 50


def upgrade() -> None:
    op.drop_index("ix_schedule_fires_definition_id", table_name="schedule_fires")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE job_definitions SET (fillfactor = {DEFINITIONS_FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE job_definitions RESET (fillfactor)")
    op.create_index("ix_schedule_fires_definition_id", "schedule_fires", ["definition_id"])
