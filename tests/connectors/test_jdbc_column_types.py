"""jdbc column types that have no Arrow equivalent, typed existing tables and values that a
database cannot store: read as text, cast to the target's types, written as NULL."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
from backend_factory import make_backend
from backends import SqlBackend

from scorecast.config import Settings
from scorecast.connectors.base import OutputToken
from scorecast.connectors.registry import open_intake, open_output
from scorecast.connectors.sql_commits import COMMITS_TABLE
from scorecast.errors import ConnectorError


def _backend(kind: str, request: pytest.FixtureRequest, app_settings: Settings) -> SqlBackend:
    backend = make_backend(kind, request, app_settings)
    assert isinstance(backend, SqlBackend)
    return backend


@pytest.fixture
def postgres(request: pytest.FixtureRequest, app_settings: Settings, tmp_path: Path) -> SqlBackend:
    return _backend("jdbc-postgres", request, app_settings)


@pytest.fixture
def mariadb(request: pytest.FixtureRequest, app_settings: Settings, tmp_path: Path) -> SqlBackend:
    return _backend("jdbc-mariadb", request, app_settings)


def run_sql(db: SqlBackend, *statements: str) -> None:
    engine = db.engine()
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    engine.dispose()


def rows(db: SqlBackend, name: str) -> list[dict[str, Any]]:
    engine = db.engine()
    with engine.connect() as connection:
        table = sa.Table(name, sa.MetaData(), autoload_with=connection)
        result = connection.execute(sa.select(table).order_by(*table.c))
        out = [dict(row._mapping) for row in result]
    engine.dispose()
    return out


def read(db: SqlBackend, **settings: Any) -> pa.Table:
    adapter = {"type": "jdbc", "dataStoreId": "db", "credentialId": "dbcred", **settings}
    intake = open_intake(adapter, db.ctx)
    try:
        return pa.Table.from_batches(list(intake.chunks(1 << 20)))
    finally:
        intake.close()


def write(
    db: SqlBackend, name: str, table: pa.Table, job: str | None = None, **settings: Any
) -> None:
    adapter = {"type": "jdbc", "dataStoreId": "db", "credentialId": "dbcred", "table": name}
    token = None if job is None else OutputToken(job, 1)
    output = open_output({**adapter, **settings}, dataclasses.replace(db.ctx, output_token=token))
    try:
        for batch in table.to_batches(max_chunksize=2):
            output.write(batch)
        output.commit()
    except BaseException:
        output.abort()
        raise


def test_postgres_columns_without_an_arrow_type_are_read_as_text(postgres: SqlBackend) -> None:
    """An unused ``inet`` column once failed the whole intake ("Could not convert IPv4Address")."""
    name = postgres.new_name(None)
    run_sql(
        postgres,
        f'CREATE TABLE "{name}" (id integer, address inet, network cidr, key uuid,'
        " wait interval, doc json, docb jsonb, tags text[], counts int[], price money,"
        " mac macaddr, span int4range, x double precision)",
        f"INSERT INTO \"{name}\" VALUES (1, '10.1.2.3', '10.0.0.0/8',"
        " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 day 02:00:00', '{\"a\": 1}',"
        " '{\"b\": [1, 2]}', ARRAY['x', 'y'], ARRAY[1, 2], 12.5, '08:00:2b:01:02:03',"
        " int4range(1, 3), 0.5), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
        " NULL, NULL, 1.5)",
    )
    table = read(postgres, table=name)
    kept = ("id", "x")
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("x").type == pa.float64()
    assert all(pa.types.is_string(f.type) for f in table.schema if f.name not in kept)
    first, second = table.sort_by("id").to_pylist()
    assert first["address"] == "10.1.2.3"
    assert first["network"] == "10.0.0.0/8"
    assert first["key"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert first["wait"] == "1 day, 2:00:00"
    assert first["doc"] == '{"a": 1}'
    assert first["docb"] == '{"b": [1, 2]}'
    assert first["tags"] == '["x", "y"]'
    assert first["counts"] == "[1, 2]"
    assert "12.50" in first["price"]
    assert first["mac"] == "08:00:2b:01:02:03"
    assert first["span"] == "[1, 3)"
    assert first["x"] == 0.5
    assert all(second[column] is None for column in second if column not in kept)


def test_query_columns_of_unknown_types_are_read_as_text(postgres: SqlBackend) -> None:
    table = read(
        postgres,
        query="SELECT '192.168.0.1'::inet AS address, ARRAY[1.5]::numeric[] AS levels, 2 AS n",
    )
    assert table.to_pylist() == [{"address": "192.168.0.1", "levels": '["1.5"]', "n": 2}]


@pytest.mark.parametrize("statement", ["insert", "insertUpdate"])
def test_text_lands_in_typed_postgres_columns(postgres: SqlBackend, statement: str) -> None:
    """CSV passthrough is staged as text; PostgreSQL refuses text for an integer column
    unless the final statement casts it to the target's type."""
    name = postgres.new_name(None)
    run_sql(
        postgres,
        f'CREATE TABLE "{name}" (id integer, seen date, score double precision)',
        f"INSERT INTO \"{name}\" VALUES (7, '2024-01-01', 0.0)",
    )
    scored = pa.table({"id": ["42", "7"], "seen": ["2024-05-04", "2024-05-05"], "score": [0.25, 1]})
    extra: dict[str, Any] = {"whereColumns": ["id"]} if statement == "insertUpdate" else {}
    write(postgres, name, scored, job=f"job-{name}", statementType=statement, **extra)
    got = [(r["id"], str(r["seen"]), r["score"]) for r in rows(postgres, name)]
    if statement == "insert":
        assert got == [(7, "2024-01-01", 0.0), (7, "2024-05-05", 1.0), (42, "2024-05-04", 0.25)]
    else:
        assert got == [(7, "2024-05-05", 1.0), (42, "2024-05-04", 0.25)]


def test_update_matches_text_keys_against_typed_postgres_columns(postgres: SqlBackend) -> None:
    name = postgres.new_name(None)
    run_sql(
        postgres,
        f'CREATE TABLE "{name}" (id bigint, score numeric(6, 3))',
        f'INSERT INTO "{name}" VALUES (1, 0), (2, 0)',
    )
    scored = pa.table({"id": ["2", "3"], "score": [0.5, 0.75]})
    write(
        postgres, name, scored, statementType="update", whereColumns=["id"], updateColumns=["score"]
    )
    assert [(r["id"], float(r["score"])) for r in rows(postgres, name)] == [(1, 0.0), (2, 0.5)]


def test_a_value_the_target_type_refuses_fails_naming_the_column(postgres: SqlBackend) -> None:
    name = postgres.new_name(None)
    run_sql(
        postgres,
        f'CREATE TABLE "{name}" (id integer, note text, score double precision)',
        f"INSERT INTO \"{name}\" VALUES (1, 'kept', 0.0)",
    )
    scored = pa.table({"id": ["2", "3", "x9"], "note": ["a", "b", "c"], "score": [0.5, 0.5, 0.5]})
    with pytest.raises(ConnectorError, match="column 'id'") as caught:
        write(postgres, name, scored, job=f"job-{name}", statementType="insert")
    assert name in caught.value.message
    assert "integer" in caught.value.message
    assert rows(postgres, name) == [{"id": 1, "note": "kept", "score": 0.0}]
    engine = postgres.engine()
    with engine.connect() as connection:
        marker = sa.table(COMMITS_TABLE, sa.column("job_id"))
        recorded = connection.scalar(
            sa.select(sa.func.count()).select_from(marker).where(marker.c.job_id == f"job-{name}")
        )
    engine.dispose()
    assert recorded == 0


def test_nan_and_infinity_are_written_as_null_to_mariadb(mariadb: SqlBackend) -> None:
    """MySQL/MariaDB cannot store NaN or ±inf in a DOUBLE: such values land as NULL."""
    name = mariadb.new_name(None)
    scored = pa.table(
        {
            "id": [1, 2, 3, 4],
            "passed": [math.nan, math.inf, -math.inf, 0.5],
            "score": pa.array([0.1, None, math.nan, 0.4], pa.float32()),
        }
    )
    write(mariadb, name, scored, statementType="insert", createTableIfNotExists=True)
    got = [(r["id"], r["passed"], r["score"]) for r in rows(mariadb, name)]
    assert [(i, p) for i, p, _ in got] == [(1, None), (2, None), (3, None), (4, 0.5)]
    assert [s is None for _, _, s in got] == [False, True, True, False]
