"""An exact count of each organization's jobs that no list has to count: ``job_tallies``.

Triggers on ``jobs`` add a row ``(org_id, +n)`` for every insert and ``(org_id, -n)`` for every
delete, in the transaction that changes the jobs, so the sum of an organization's rows is its
number of jobs as that transaction sees them (``store.job_tallies.job_count``). Rows are only
ever inserted, so concurrent submissions never wait for one another (one counter row updated by
every submission would serialize them on PostgreSQL).

The triggers also fold the rows now and then (when the tally's ids reach a multiple of
``FOLD_EVERY``), into one row per organization, so a sum reads a few hundred rows at most:

- SQLite (one writer at a time): every row up to the new one is replaced by its sums;
- PostgreSQL: the rows no other fold holds are deleted and their sums inserted in one statement
  (``FOR UPDATE SKIP LOCKED``: a fold never waits for another, and sums exactly what it
  deleted). Statement-level triggers: a bulk insert adds one row per organization.

A job never changes organization, so updates need no trigger. The migration counts the jobs
already stored once, after creating the triggers, in the same transaction.

Revision ID: 0012_job_tallies
Revises: 0011_jobs_definition_status
Create Date: 2026-12-06 09:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_job_tallies"
down_revision: str | None = "0011_jobs_definition_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the tally rows are folded when their ids reach a multiple of this
FOLD_EVERY = 256

_SQLITE = (
    """CREATE TRIGGER job_tallies_insert AFTER INSERT ON jobs BEGIN
        INSERT INTO job_tallies (org_id, delta) VALUES (NEW.org_id, 1);
    END""",
    """CREATE TRIGGER job_tallies_delete AFTER DELETE ON jobs BEGIN
        INSERT INTO job_tallies (org_id, delta) VALUES (OLD.org_id, -1);
    END""",
    f"""CREATE TRIGGER job_tallies_fold AFTER INSERT ON job_tallies
    WHEN NEW.id % {FOLD_EVERY} = 0 BEGIN
        INSERT INTO job_tallies (org_id, delta)
            SELECT org_id, sum(delta) FROM job_tallies WHERE id <= NEW.id
            GROUP BY org_id HAVING sum(delta) <> 0;
        DELETE FROM job_tallies WHERE id <= NEW.id;
    END""",
)

_POSTGRES = (
    f"""CREATE FUNCTION job_tallies_add(first_id bigint, last_id bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF last_id / {FOLD_EVERY} > (first_id - 1) / {FOLD_EVERY} THEN
            WITH gone AS (
                DELETE FROM job_tallies WHERE id IN (
                    SELECT id FROM job_tallies FOR UPDATE SKIP LOCKED
                ) RETURNING org_id, delta
            )
            INSERT INTO job_tallies (org_id, delta)
                SELECT org_id, sum(delta) FROM gone GROUP BY org_id HAVING sum(delta) <> 0;
        END IF;
    END $$""",
    """CREATE FUNCTION job_tallies_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE first_id bigint; last_id bigint;
    BEGIN
        WITH added AS (
            INSERT INTO job_tallies (org_id, delta)
                SELECT org_id, count(*) FROM inserted GROUP BY org_id RETURNING id
        ) SELECT min(id), max(id) INTO first_id, last_id FROM added;
        IF last_id IS NOT NULL THEN
            PERFORM job_tallies_add(first_id, last_id);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION job_tallies_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE first_id bigint; last_id bigint;
    BEGIN
        WITH added AS (
            INSERT INTO job_tallies (org_id, delta)
                SELECT org_id, -count(*) FROM deleted GROUP BY org_id RETURNING id
        ) SELECT min(id), max(id) INTO first_id, last_id FROM added;
        IF last_id IS NOT NULL THEN
            PERFORM job_tallies_add(first_id, last_id);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER job_tallies_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION job_tallies_insert()""",
    """CREATE TRIGGER job_tallies_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION job_tallies_delete()""",
)


def upgrade() -> None:
    op.create_table(
        "job_tallies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_tallies")),
    )
    op.create_index("ix_job_tallies_org", "job_tallies", ["org_id", "delta"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)
    op.execute(
        "INSERT INTO job_tallies (org_id, delta) SELECT org_id, count(*) FROM jobs GROUP BY org_id"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger in ("job_tallies_insert", "job_tallies_delete", "job_tallies_fold"):
        if postgres and trigger != "job_tallies_fold":
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON jobs")
        elif not postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    if postgres:
        for function in ("job_tallies_insert()", "job_tallies_delete()"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
        op.execute("DROP FUNCTION IF EXISTS job_tallies_add(bigint, bigint)")
    op.drop_index("ix_job_tallies_org", table_name="job_tallies")
    op.drop_table("job_tallies")
