"""A tally of each organization's job definitions (``store.definition_tallies``).

``definition_tallies`` holds one row per organization with definitions: its number of them.
Triggers on ``job_definitions`` keep it exact in the changing transaction: +n on insert, -n on
delete (PostgreSQL: once per statement, from its transition table; SQLite: per row), and both
for the update that moves a definition to another organization (no code does; kept exact
anyway). The delete trigger only updates, never inserts: when an organization is deleted, its
definitions and its tally row go with it by cascade, in either order. The stored definitions are
counted once in the migration's transaction.

Revision ID: 0016_definition_tallies
Revises: 0015_job_logs_newest_index
Create Date: 2026-12-07 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_definition_tallies"
down_revision: str | None = "0015_job_logs_newest_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE = (
    """CREATE TRIGGER definition_tallies_insert AFTER INSERT ON job_definitions BEGIN
        INSERT INTO definition_tallies (org_id, count) VALUES (NEW.org_id, 1)
            ON CONFLICT (org_id) DO UPDATE SET count = count + 1;
    END""",
    """CREATE TRIGGER definition_tallies_delete AFTER DELETE ON job_definitions BEGIN
        UPDATE definition_tallies SET count = count - 1 WHERE org_id = OLD.org_id;
    END""",
    """CREATE TRIGGER definition_tallies_move AFTER UPDATE OF org_id ON job_definitions
    WHEN OLD.org_id IS NOT NEW.org_id BEGIN
        UPDATE definition_tallies SET count = count - 1 WHERE org_id = OLD.org_id;
        INSERT INTO definition_tallies (org_id, count) VALUES (NEW.org_id, 1)
            ON CONFLICT (org_id) DO UPDATE SET count = count + 1;
    END""",
)

_POSTGRES = (
    """CREATE FUNCTION definition_tallies_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO definition_tallies (org_id, count)
            SELECT org_id, count(*) FROM inserted GROUP BY org_id ORDER BY org_id
            ON CONFLICT (org_id) DO UPDATE SET count = definition_tallies.count + EXCLUDED.count;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION definition_tallies_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE definition_tallies AS tally SET count = tally.count - gone.number
            FROM (SELECT org_id, count(*) AS number FROM deleted GROUP BY org_id) AS gone
            WHERE tally.org_id = gone.org_id;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION definition_tallies_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE definition_tallies SET count = count - 1 WHERE org_id = OLD.org_id;
        INSERT INTO definition_tallies (org_id, count) VALUES (NEW.org_id, 1)
            ON CONFLICT (org_id) DO UPDATE SET count = definition_tallies.count + 1;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER definition_tallies_insert AFTER INSERT ON job_definitions
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
    EXECUTE FUNCTION definition_tallies_insert()""",
    """CREATE TRIGGER definition_tallies_delete AFTER DELETE ON job_definitions
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
    EXECUTE FUNCTION definition_tallies_delete()""",
    """CREATE TRIGGER definition_tallies_move AFTER UPDATE OF org_id ON job_definitions
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION definition_tallies_move()""",
)

_TRIGGERS = ("definition_tallies_insert", "definition_tallies_delete", "definition_tallies_move")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "definition_tallies",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_definition_tallies_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_definition_tallies")),
    )
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)
    op.execute(
        "INSERT INTO definition_tallies (org_id, count)"
        " SELECT org_id, count(*) FROM job_definitions GROUP BY org_id"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger in _TRIGGERS:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON job_definitions")
            op.execute(f"DROP FUNCTION IF EXISTS {trigger}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_table("definition_tallies")
