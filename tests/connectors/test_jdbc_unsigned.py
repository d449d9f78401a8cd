"""A MariaDB ``BIGINT UNSIGNED`` beyond int64 fails the job naming the column."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from context import make_context, settings_for

from scorecast.connectors.registry import open_intake
from scorecast.errors import ConnectorError


def test_an_unsigned_bigint_over_int64_fails_naming_the_column(
    mariadb_database: str, tmp_path: Path
) -> None:
    """In the session's MariaDB database (``conftest.mariadb_database``), a table of its own."""
    mariadb = mariadb_database
    engine = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:3306/{mariadb}")
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS unsigned_wide")
        connection.exec_driver_sql("CREATE TABLE unsigned_wide (big BIGINT UNSIGNED, x DOUBLE)")
        connection.exec_driver_sql(
            "INSERT INTO unsigned_wide VALUES (1, 0.5), (18446744073709551615, 1)"
        )
    engine.dispose()
    (tmp_path / "home").mkdir()
    ctx = make_context(
        settings_for(tmp_path / "home", tmp_path),
        {"cred": {"user": "root", "password": ""}},
        {"db": {"jdbcUrl": f"jdbc:mariadb://127.0.0.1:3306/{mariadb}"}},
    )
    adapter = {
        "type": "jdbc",
        "dataStoreId": "db",
        "credentialId": "cred",
        "table": "unsigned_wide",
    }
    intake = open_intake(adapter, ctx)
    try:
        with pytest.raises(ConnectorError, match="column 'big' holds 18446744073709551615"):
            list(intake.chunks(1 << 20))
    finally:
        intake.close()
