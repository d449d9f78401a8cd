"""Data store addresses that would make a driver connect somewhere else than the checked host
(issue 14, item 2): several hosts, redirecting parameters, Unix sockets, connection strings
hidden in the database name. They are refused whether or not private addresses are allowed,
when a data store is created and again when a job opens one stored earlier."""

from __future__ import annotations

from pathlib import Path

import pytest
from context import make_context

from scorecast.config import Settings
from scorecast.connectors.jdbc_url import database_url
from scorecast.connectors.registry import open_intake
from scorecast.connectors.safety import UnsafeLocationError
from scorecast.errors import ConnectorError

BYPASSES = [
    "jdbc:postgresql://db.example.com,127.0.0.1:5432/db",
    "jdbc:postgresql://db.example.com:5432,127.0.0.1:5432/db",
    "jdbc:mysql://db.example.com,127.0.0.1/db",
    "postgresql://db.example.com,127.0.0.1:5432/db",
    "postgresql://db.example.com/db?hostaddr=127.0.0.1",
    "postgresql://db.example.com/db?hostaddr=169.254.169.254",
    "postgresql://db.example.com/db?host=127.0.0.1",
    "postgresql://db.example.com/db?host=/var/run/postgresql",
    "postgresql://db.example.com/db?port=5433&hostaddr=10.0.0.1",
    "postgresql://db.example.com/db?service=local",
    "postgresql://db.example.com/db?HOSTADDR=127.0.0.1",
    "postgresql://db.example.com/db?passfile=/etc/passwd",
    "jdbc:postgresql://db.example.com/db?hostaddr=127.0.0.1",
    "jdbc:postgresql://db.example.com/db?socketFactory=x.Y",
    "mysql://db.example.com/db?unix_socket=/run/mysqld/mysqld.sock",
    "mariadb://db.example.com/db?unix_socket=/run/mysqld/other.sock",
    "mysql://db.example.com/db?host=127.0.0.1",
    "mysql://db.example.com/db?read_default_file=/etc/mysql/my.cnf",
    "mysql://db.example.com/db?local_infile=1",
    "jdbc:mysql://db.example.com/db?unix_socket=/run/mysqld/mysqld.sock",
    "jdbc:mariadb://db.example.com/db?unixSocket=/run/mysqld/other.sock",
    "jdbc:mysql://address=(host=127.0.0.1)(port=3306)/db",
    "postgresql://db.example.com/db?connect_timeout=1&unknown=1",
    "postgresql://db.example.com/host=127.0.0.1",
    "jdbc:postgresql://db.example.com/host=127.0.0.1",
    "postgresql://db.example.com/postgresql:%2F%2F127.0.0.1%2Fdb",
]


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("address", BYPASSES)
def test_redirecting_addresses_are_refused(
    tmp_path: Path, address: str, allow_private: bool
) -> None:
    settings = Settings(
        home=tmp_path, database_url="sqlite://", allow_private_endpoints=allow_private
    )
    key = "jdbcUrl" if address.startswith("jdbc:") else "sqlalchemyUrl"
    with pytest.raises(UnsafeLocationError):
        database_url({key: address}, None, settings)
    ctx = make_context(settings, {}, {"d": {key: address}})
    with pytest.raises(ConnectorError, match="data store 'd'"):
        open_intake({"type": "jdbc", "dataStoreId": "d", "table": "t"}, ctx)


@pytest.mark.parametrize(
    "address",
    [
        "jdbc:postgresql://db.example.com:5432/db?sslmode=require&ssl=true",
        "postgresql://db.example.com/db?sslmode=require&application_name=x",
        "jdbc:mysql://db.example.com/db?characterEncoding=utf8",
        "mysql://db.example.com/db?charset=utf8mb4",
    ],
)
def test_plain_addresses_still_pass(tmp_path: Path, address: str) -> None:
    settings = Settings(home=tmp_path, database_url="sqlite://")
    key = "jdbcUrl" if address.startswith("jdbc:") else "sqlalchemyUrl"
    url = database_url({key: address}, None, settings)
    assert url.host == "db.example.com"
    assert not {"host", "hostaddr", "unix_socket"} & set(url.query)
