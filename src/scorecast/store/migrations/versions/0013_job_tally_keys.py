"""The job tally keyed by the job list's fixed filters: each ``job_tallies`` row counts the jobs of
one (organization, deployment, source, intake type, output type), so the ``totalCount`` of a list
filtered by any of these (``store.job_tallies.job_count``) is a sum of tally rows too: with
100,000 matching jobs, PostgreSQL counted 100,000 index entries (about 30 ms) on every full page.

These five values never change once a job is inserted (no code updates ``org_id``,
``deployment_id``, ``source`` or ``spec`` of a job); an update trigger that fires only when one
of them does change keeps the tally exact anyway (a -1 row for the old key, +1 for the new),
and costs nothing to the status and progress updates, which never name those columns.

Otherwise as in ``0012_job_list_counts``: rows are only inserted by the transaction that changes
the jobs (concurrent submissions never wait for each other); the folds (when the tally's ids
reach a multiple of ``FOLD_EVERY``) keep one row per distinct key per organization. The table is
recreated and the stored jobs counted again in the migration's transaction; the downgrade
restores 0012's per-organization tally the same way.

Revision ID: 0013_job_tally_keys
Revises: 0012_job_list_counts
Create Date: 2026-12-06 10:50:00
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_job_tally_keys"
down_revision: str | None = "0012_job_list_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the tally rows are folded when their ids reach a multiple of this
FOLD_EVERY = 256

#: what a tally row counts the jobs of; the same columns on ``jobs``
KEY = "org_id, deployment_id, source, intake_type, output_type"


def _values(row: str) -> str:
    return ", ".join(f"{row}.{column.strip()}" for column in KEY.split(","))


def _changed(distinct: str) -> str:
    return " OR ".join(f"OLD.{c.strip()} {distinct} NEW.{c.strip()}" for c in KEY.split(","))


#: the columns an update must name to change a key (the adapter types are generated from spec)
_KEY_SOURCES = "org_id, deployment_id, source, spec"

_SQLITE = (
    f"""CREATE TRIGGER job_tallies_insert AFTER INSERT ON jobs BEGIN
        INSERT INTO job_tallies ({KEY}, delta) VALUES ({_values("NEW")}, 1);
    END""",
    f"""CREATE TRIGGER job_tallies_delete AFTER DELETE ON jobs BEGIN
        INSERT INTO job_tallies ({KEY}, delta) VALUES ({_values("OLD")}, -1);
    END""",
    f"""CREATE TRIGGER job_tallies_update AFTER UPDATE OF {_KEY_SOURCES} ON jobs
    WHEN {_changed("IS NOT")} BEGIN
        INSERT INTO job_tallies ({KEY}, delta) VALUES ({_values("OLD")}, -1);
        INSERT INTO job_tallies ({KEY}, delta) VALUES ({_values("NEW")}, 1);
    END""",
    f"""CREATE TRIGGER job_tallies_fold AFTER INSERT ON job_tallies
    WHEN NEW.id % {FOLD_EVERY} = 0 BEGIN
        INSERT INTO job_tallies ({KEY}, delta)
            SELECT {KEY}, sum(delta) FROM job_tallies WHERE id <= NEW.id
            GROUP BY {KEY} HAVING sum(delta) <> 0;
        DELETE FROM job_tallies WHERE id <= NEW.id;
    END""",
)

_POSTGRES = (
    # after adding the tally rows first_id..last_id: fold when they reach a multiple of FOLD_EVERY
    f"""CREATE FUNCTION job_tallies_add(first_id bigint, last_id bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF last_id / {FOLD_EVERY} > (first_id - 1) / {FOLD_EVERY} THEN
            WITH gone AS (
                DELETE FROM job_tallies WHERE id IN (
                    SELECT id FROM job_tallies FOR UPDATE SKIP LOCKED
                ) RETURNING {KEY}, delta
            )
            INSERT INTO job_tallies ({KEY}, delta)
                SELECT {KEY}, sum(delta) FROM gone GROUP BY {KEY} HAVING sum(delta) <> 0;
        END IF;
    END $$""",
    f"""CREATE FUNCTION job_tallies_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE first_id bigint; last_id bigint;
    BEGIN
        WITH added AS (
            INSERT INTO job_tallies ({KEY}, delta)
                SELECT {KEY}, count(*) FROM inserted GROUP BY {KEY} RETURNING id
        ) SELECT min(id), max(id) INTO first_id, last_id FROM added;
        IF last_id IS NOT NULL THEN
            PERFORM job_tallies_add(first_id, last_id);
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION job_tallies_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE first_id bigint; last_id bigint;
    BEGIN
        WITH added AS (
            INSERT INTO job_tallies ({KEY}, delta)
                SELECT {KEY}, -count(*) FROM deleted GROUP BY {KEY} RETURNING id
        ) SELECT min(id), max(id) INTO first_id, last_id FROM added;
        IF last_id IS NOT NULL THEN
            PERFORM job_tallies_add(first_id, last_id);
        END IF;
        RETURN NULL;
    END $$""",
    # per row, and only for the rare update that changes a key
    f"""CREATE FUNCTION job_tallies_update() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE first_id bigint; last_id bigint;
    BEGIN
        WITH added AS (
            INSERT INTO job_tallies ({KEY}, delta)
                VALUES ({_values("OLD")}, -1), ({_values("NEW")}, 1) RETURNING id
        ) SELECT min(id), max(id) INTO first_id, last_id FROM added;
        PERFORM job_tallies_add(first_id, last_id);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER job_tallies_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION job_tallies_insert()""",
    """CREATE TRIGGER job_tallies_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION job_tallies_delete()""",
    f"""CREATE TRIGGER job_tallies_update AFTER UPDATE OF {_KEY_SOURCES} ON jobs FOR EACH ROW
    WHEN ({_changed("IS DISTINCT FROM")}) EXECUTE FUNCTION job_tallies_update()""",
)

_TRIGGERS = ("job_tallies_insert", "job_tallies_delete", "job_tallies_update")
_FUNCTIONS = (
    "job_tallies_insert()",
    "job_tallies_delete()",
    "job_tallies_update()",
    "job_tallies_add(bigint, bigint)",
)


def _drop_tally(postgres: bool) -> None:
    """Drop the tally, its triggers and functions (0012's or this revision's)."""
    for trigger in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON jobs" if postgres else ""))
    if postgres:
        for function in _FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_table("job_tallies")  # its index and (SQLite) its fold trigger with it


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _drop_tally(postgres)
    op.create_table(
        "job_tallies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("deployment_id", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("intake_type", sa.String(length=40), nullable=True),
        sa.Column("output_type", sa.String(length=40), nullable=True),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_tallies")),
    )
    op.create_index(
        "ix_job_tallies_org",
        "job_tallies",
        ["org_id", "deployment_id", "source", "intake_type", "output_type", "delta"],
    )
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)
    op.execute(
        f"INSERT INTO job_tallies ({KEY}, delta) SELECT {KEY}, count(*) FROM jobs GROUP BY {KEY}"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _drop_tally(postgres)
    previous = importlib.import_module("scorecast.store.migrations.versions.0012_job_list_counts")
    op.create_table(
        "job_tallies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_tallies")),
    )
    op.create_index("ix_job_tallies_org", "job_tallies", ["org_id", "delta"])
    for statement in previous._POSTGRES if postgres else previous._SQLITE:
        op.execute(statement)
    op.execute(
        "INSERT INTO job_tallies (org_id, delta) SELECT org_id, count(*) FROM jobs GROUP BY org_id"
    )
