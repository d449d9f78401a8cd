"""The jdbc output's commit records: a marker table in the target database.

``scorecast_commits`` (in the target table's schema) holds one row per job whose output was
committed there: ``job_id`` (primary key), ``attempt`` and ``committed_at`` (UTC). The output
inserts its row in the same transaction as its rows, so the two become visible together or not
at all; a retried attempt that finds the row knows its job's rows are in and writes nothing, and
a second attempt committing concurrently fails on the primary key and rolls back its rows.

The table is created when missing (in a transaction of its own: MySQL commits DDL implicitly)
and never dropped by scorecast; an operator may delete old rows once their jobs are finished.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from scorecast.connectors.base import OutputToken

#: the marker table's name, in the target table's schema
COMMITS_TABLE = "scorecast_commits"


def commits_table(schema: str | None) -> sa.Table:
    return sa.Table(
        COMMITS_TABLE,
        sa.MetaData(),
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("committed_at", sa.DateTime, nullable=False),
        schema=schema,
    )


def ensure_commits_table(engine: sa.Engine, table: sa.Table) -> None:
    """Create the marker table unless it exists; a concurrent creator winning is fine."""
    try:
        with engine.begin() as connection:
            table.create(connection, checkfirst=True)
    except sa.exc.DBAPIError:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(table.name, schema=table.schema):
                raise


def find_commit(connection: sa.Connection, table: sa.Table, token: OutputToken) -> str | None:
    """ "attempt N at <time> UTC" when ``token``'s job committed here, else None."""
    if not sa.inspect(connection).has_table(table.name, schema=table.schema):
        return None
    row = connection.execute(
        sa.select(table.c.attempt, table.c.committed_at).where(table.c.job_id == token.job_id)
    ).first()
    if row is None:
        return None
    return f"attempt {row.attempt} at {row.committed_at:%Y-%m-%d %H:%M:%S} UTC"


def record_commit(connection: sa.Connection, table: sa.Table, token: OutputToken) -> None:
    """Insert ``token``'s row in the caller's transaction (fails if the job's row exists)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    connection.execute(
        table.insert().values(job_id=token.job_id, attempt=token.attempt, committed_at=now)
    )
