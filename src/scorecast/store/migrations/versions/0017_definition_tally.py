"""The number of each organization's definitions, kept by triggers: ``definition_tallies`` rows of
+n/-n, one key each (organization, deployment), whose sum is a number of definitions
(``store.definition_tallies.definition_count``).

The definitions list's ``totalCount`` counted every definition of the organization (of the
deployment, filtered by it) on every full page: 1.4-2.5 ms of PostgreSQL's CPU a page with
10,000 definitions, more with more. A tally per organization kept by updating one row was tried
and dropped: a transaction that inserted definitions one statement each made a chain of row
versions, one per definition. These rows are only inserted, as the job and queue tallies' are
(``0012_job_list_counts``, ``0013_job_tally_keys``, ``0016_queue_tally``): a row per key per
statement that inserts or deletes definitions (per definition on SQLite), two for an update that
moves a definition to another deployment; the folds (when the tally's ids reach a multiple of
``FOLD_EVERY``) keep one row per key. The stored definitions are counted in the migration's
transaction; the downgrade drops the tally.

Revision ID: 0017_definition_tally
Revises: 0016_queue_tally
Create Date: 2026-12-07 10:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_definition_tally"
down_revision: str | None = "0016_queue_tally"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the tally rows are folded when their ids reach a multiple of this
FOLD_EVERY = 256
#: the counted table, the tally, and what a tally row counts the definitions of
TABLE, TALLY = "job_definitions", "definition_tallies"
KEY = ("org_id", "deployment_id")
_KEYS = ", ".join(KEY)


def _of(row: str) -> str:
    return ", ".join(f"{row}.{column}" for column in KEY)


def _moved(distinct: str) -> str:
    return " OR ".join(f"OLD.{column} {distinct} NEW.{column}" for column in KEY)


def _sqlite() -> list[str]:
    def trigger(name: str, event: str, rows: str, extra: str = "") -> str:
        """A trigger adding the tally rows ``rows`` (then running ``extra``)."""
        return (
            f"CREATE TRIGGER {TALLY}_{name} {event} BEGIN"
            f" INSERT INTO {TALLY} ({_KEYS}, delta) {rows}; {extra} END"
        )

    new, old = _of("NEW"), _of("OLD")
    folded = f"SELECT {_KEYS}, sum(delta) FROM {TALLY} WHERE id <= NEW.id GROUP BY {_KEYS}"
    return [
        trigger("insert", f"AFTER INSERT ON {TABLE}", f"VALUES ({new}, 1)"),
        trigger("delete", f"AFTER DELETE ON {TABLE}", f"VALUES ({old}, -1)"),
        trigger(
            "update",
            f"AFTER UPDATE OF {_KEYS} ON {TABLE} WHEN {_moved('IS NOT')}",
            f"VALUES ({old}, -1), ({new}, 1)",
        ),
        trigger(
            "fold",
            f"AFTER INSERT ON {TALLY} WHEN NEW.id % {FOLD_EVERY} = 0",
            f"{folded} HAVING sum(delta) <> 0",
            f"DELETE FROM {TALLY} WHERE id <= NEW.id;",
        ),
    ]


def _postgres() -> list[str]:
    def function(name: str, rows: str) -> str:
        """A trigger function adding the tally rows ``rows`` selects, then folding when due."""
        return f"""CREATE FUNCTION {TALLY}_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE first_id bigint; last_id bigint;
        BEGIN
            WITH added AS (INSERT INTO {TALLY} ({_KEYS}, delta) {rows} RETURNING id)
            SELECT min(id), max(id) INTO first_id, last_id FROM added;
            IF last_id IS NOT NULL THEN
                PERFORM {TALLY}_add(first_id, last_id);
            END IF;
            RETURN NULL;
        END $$"""

    return [
        # after adding the tally rows first_id..last_id: fold when they cross FOLD_EVERY; the
        # rows another fold holds are left to a later one, so no fold waits for another
        f"""CREATE FUNCTION {TALLY}_add(first_id bigint, last_id bigint) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF last_id / {FOLD_EVERY} > (first_id - 1) / {FOLD_EVERY} THEN
                WITH gone AS (
                    DELETE FROM {TALLY} WHERE id IN (SELECT id FROM {TALLY} FOR UPDATE SKIP LOCKED)
                    RETURNING {_KEYS}, delta
                )
                INSERT INTO {TALLY} ({_KEYS}, delta)
                    SELECT {_KEYS}, sum(delta) FROM gone GROUP BY {_KEYS} HAVING sum(delta) <> 0;
            END IF;
        END $$""",
        function("insert", f"SELECT {_KEYS}, count(*) FROM inserted GROUP BY {_KEYS}"),
        function("delete", f"SELECT {_KEYS}, -count(*) FROM deleted GROUP BY {_KEYS}"),
        function("update", f"VALUES ({_of('OLD')}, -1), ({_of('NEW')}, 1)"),
        f"""CREATE TRIGGER {TALLY}_insert AFTER INSERT ON {TABLE} REFERENCING NEW TABLE AS
        inserted FOR EACH STATEMENT EXECUTE FUNCTION {TALLY}_insert()""",
        f"""CREATE TRIGGER {TALLY}_delete AFTER DELETE ON {TABLE} REFERENCING OLD TABLE AS
        deleted FOR EACH STATEMENT EXECUTE FUNCTION {TALLY}_delete()""",
        # per row, and only for the rare update that moves a definition to another deployment
        f"""CREATE TRIGGER {TALLY}_update AFTER UPDATE OF {_KEYS} ON {TABLE} FOR EACH ROW
        WHEN ({_moved("IS DISTINCT FROM")}) EXECUTE FUNCTION {TALLY}_update()""",
    ]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        TALLY,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("deployment_id", sa.String(length=24), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TALLY}")),
    )
    op.create_index("ix_definition_tallies_org", TALLY, [*KEY, "delta"])
    for statement in _postgres() if postgres else _sqlite():
        op.execute(statement)
    op.execute(
        f"INSERT INTO {TALLY} ({_KEYS}, delta) SELECT {_KEYS}, count(*) FROM {TABLE}"
        f" GROUP BY {_KEYS}"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS {TALLY}_{name}" + (f" ON {TABLE}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {TALLY}_{name}()")
    if postgres:
        op.execute(f"DROP FUNCTION IF EXISTS {TALLY}_add(bigint, bigint)")
    op.drop_table(TALLY)  # its index and (SQLite) its fold trigger with it
