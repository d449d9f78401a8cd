"""A MariaDB ``BIGINT UNSIGNED`` beyond int64 fails the job naming the column."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from context import make_context, settings_for

from scorecast.connectors.registry import open_intake
from scorecast.errors import ConnectorError
from services import MARIADB, require

ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


@pytest.fixture(scope="module")
def mariadb() -> Iterator[str]:
    require(MARIADB)
    name = f"fix_conn_unsigned_{os.getpid()}"
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        connection.exec_driver_sql(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        engine.dispose()


def test_an_unsigned_bigint_over_int64_fails_naming_the_column(
    mariadb: str, tmp_path: Path
) -> None:
    engine = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:3306/{mariadb}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE wide (big BIGINT UNSIGNED, x DOUBLE)")
        connection.exec_driver_sql("INSERT INTO wide VALUES (1, 0.5), (18446744073709551615, 1)")
    engine.dispose()
    (tmp_path / "home").mkdir()
    ctx = make_context(
        settings_for(tmp_path / "home", tmp_path),
        {"cred": {"user": "root", "password": ""}},
        {"db": {"jdbcUrl": f"jdbc:mariadb://127.0.0.1:3306/{mariadb}"}},
    )
    adapter = {"type": "jdbc", "dataStoreId": "db", "credentialId": "cred", "table": "wide"}
    intake = open_intake(adapter, ctx)
    try:
        with pytest.raises(ConnectorError, match="column 'big' holds 18446744073709551615"):
            list(intake.chunks(1 << 20))
    finally:
        intake.close()
