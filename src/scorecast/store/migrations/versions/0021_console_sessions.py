"""Console sign-ins are kept in the store, so that signing out ends the session.

The console's cookie used to carry only the API token (encrypted): signing out deleted the
cookie in the browser, but a copy of it (another tab's request in flight, a saved cookie) still
signed its bearer in until it expired, eight hours after sign-in. Now each sign-in is a row of
``console_sessions`` that the cookie names; signing out deletes the row, and a cookie whose row
is gone (or expired, or whose token was revoked or deleted) is refused. Cookies made before
this migration name no row: their users sign in again once.

Revision ID: 0021_console_sessions
Revises: 0020_fire_writes
Create Date: 2026-12-07 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_console_sessions"
down_revision: str | None = "0020_fire_writes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_id", sa.String(length=24), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_console_sessions_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_expires", table_name="console_sessions")
    op.drop_table("console_sessions")
