"""How many jobs wait in the queue, kept by triggers: ``queue_tallies`` rows of +n/-n whose sum is
the number of waiting jobs (``INITIALIZING``, queued, intake ready, no abort asked; the
condition of ``store/models.py`` ``JOB_WAITING`` and of the partial index ``ix_jobs_waiting``).

A waiting job's ``queuePosition`` is the number of jobs waiting ahead of it. Counting them read
one index entry per job ahead: with 10,000 waiting, 1.2 ms of PostgreSQL's CPU for every read of
the newest job, the one its client polls. With the total kept here, the position is the total
less the jobs waiting behind it (``service/job_views.py`` counts at most a few hundred of those,
else the ones ahead as before).

Rows are only inserted by the transaction that changes the jobs, as for the job tally
(``0012_job_list_counts``, ``0013_job_tally_keys``): a row per statement that inserts or deletes
waiting jobs (per job on SQLite), a row per job whose waiting changes (claimed, aborted, its
upload done, queued again), so concurrent transactions never wait for each other; the folds
(when the tally's ids reach a multiple of ``FOLD_EVERY``) keep the rows few. The stored waiting
jobs are counted in the migration's transaction; the downgrade drops the tally.

Revision ID: 0016_queue_tally
Revises: 0015_job_logs_newest_index
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_queue_tally"
down_revision: str | None = "0015_job_logs_newest_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the tally rows are folded when their ids reach a multiple of this
FOLD_EVERY = 256

#: the columns whose update can change whether a job waits
_WAITING_COLUMNS = "status, queued, intake_ready, abort_requested"


def _waiting(row: str, *, postgres: bool) -> str:
    """``JOB_WAITING`` of the row named ``row`` (NEW, OLD, a transition table), never NULL."""
    true, false = ("true", "false") if postgres else ("1", "0")
    return (
        f"({row}.status = 'INITIALIZING' AND {row}.queued IS {true}"
        f" AND {row}.intake_ready IS {true} AND {row}.abort_requested IS {false})"
    )


_NEW, _OLD = _waiting("NEW", postgres=False), _waiting("OLD", postgres=False)
_SQLITE = (
    f"""CREATE TRIGGER queue_tallies_insert AFTER INSERT ON jobs WHEN {_NEW} BEGIN
        INSERT INTO queue_tallies (delta) VALUES (1);
    END""",
    f"""CREATE TRIGGER queue_tallies_delete AFTER DELETE ON jobs WHEN {_OLD} BEGIN
        INSERT INTO queue_tallies (delta) VALUES (-1);
    END""",
    f"""CREATE TRIGGER queue_tallies_update AFTER UPDATE OF {_WAITING_COLUMNS} ON jobs
    WHEN {_OLD} IS NOT {_NEW} BEGIN
        INSERT INTO queue_tallies (delta) VALUES (CASE WHEN {_NEW} THEN 1 ELSE -1 END);
    END""",
    f"""CREATE TRIGGER queue_tallies_fold AFTER INSERT ON queue_tallies
    WHEN NEW.id % {FOLD_EVERY} = 0 BEGIN
        INSERT INTO queue_tallies (delta)
            SELECT sum(delta) FROM queue_tallies WHERE id <= NEW.id HAVING sum(delta) <> 0;
        DELETE FROM queue_tallies WHERE id <= NEW.id;
    END""",
)


def _added(rows: str) -> str:
    """The body of a trigger function that inserts ``rows`` (a query of one ``delta`` column,
    or none), then folds when due."""
    return f"""DECLARE first_id bigint; last_id bigint;
    BEGIN
        WITH added AS (
            INSERT INTO queue_tallies (delta) {rows} RETURNING id
        ) SELECT min(id), max(id) INTO first_id, last_id FROM added;
        IF last_id IS NOT NULL THEN
            PERFORM queue_tallies_add(first_id, last_id);
        END IF;
        RETURN NULL;
    END"""


_INSERTED = _waiting("inserted", postgres=True)
_DELETED = _waiting("deleted", postgres=True)
_POSTGRES = (
    # after adding the tally rows first_id..last_id: fold when they reach a multiple of FOLD_EVERY
    f"""CREATE FUNCTION queue_tallies_add(first_id bigint, last_id bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF last_id / {FOLD_EVERY} > (first_id - 1) / {FOLD_EVERY} THEN
            WITH gone AS (
                DELETE FROM queue_tallies WHERE id IN (
                    SELECT id FROM queue_tallies FOR UPDATE SKIP LOCKED
                ) RETURNING delta
            )
            INSERT INTO queue_tallies (delta)
                SELECT sum(delta) FROM gone HAVING sum(delta) <> 0;
        END IF;
    END $$""",
    f"""CREATE FUNCTION queue_tallies_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    {_added(f"SELECT count(*) FROM inserted WHERE {_INSERTED} HAVING count(*) > 0")}
    $$""",
    f"""CREATE FUNCTION queue_tallies_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    {_added(f"SELECT -count(*) FROM deleted WHERE {_DELETED} HAVING count(*) > 0")}
    $$""",
    # per row, and only for a job whose waiting changes (PostgreSQL gives no transition tables
    # to a trigger on named columns, and most updates of jobs are progress, not these columns)
    f"""CREATE FUNCTION queue_tallies_update() RETURNS trigger LANGUAGE plpgsql AS $$
    {_added(f"VALUES (CASE WHEN {_waiting('NEW', postgres=True)} THEN 1 ELSE -1 END)")}
    $$""",
    """CREATE TRIGGER queue_tallies_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION queue_tallies_insert()""",
    """CREATE TRIGGER queue_tallies_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION queue_tallies_delete()""",
    f"""CREATE TRIGGER queue_tallies_update AFTER UPDATE OF {_WAITING_COLUMNS} ON jobs
    FOR EACH ROW WHEN ({_waiting("OLD", postgres=True)} IS DISTINCT FROM
    {_waiting("NEW", postgres=True)}) EXECUTE FUNCTION queue_tallies_update()""",
)

_TRIGGERS = ("queue_tallies_insert", "queue_tallies_delete", "queue_tallies_update")
_FUNCTIONS = (
    "queue_tallies_insert()",
    "queue_tallies_delete()",
    "queue_tallies_update()",
    "queue_tallies_add(bigint, bigint)",
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "queue_tallies",
        # every change of a job's waiting takes an id: 64 bits on PostgreSQL (SQLite's rowid is)
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_tallies")),
    )
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)
    op.execute(
        "INSERT INTO queue_tallies (delta) SELECT count(*) FROM jobs"
        f" WHERE {_waiting('jobs', postgres=postgres)} HAVING count(*) > 0"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON jobs" if postgres else ""))
    if postgres:
        for function in _FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_table("queue_tallies")  # with it (SQLite) its fold trigger
