"""jdbc specifics on PostgreSQL, MariaDB and SQLite: statement types, atomicity, read-only
queries, streaming in fetchSize rows, quoting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
from backend_factory import make_backend
from backends import SqlBackend
from context import make_context

from scorecast.config import Settings
from scorecast.connectors.registry import open_intake, open_output
from scorecast.errors import ConnectorError, InvalidInput


@pytest.fixture(params=["jdbc-postgres", "jdbc-mariadb", "jdbc-sqlite"])
def db(request: pytest.FixtureRequest, app_settings: Settings, tmp_path: Path) -> SqlBackend:
    if request.param == "jdbc-sqlite":
        path = tmp_path / "local.db"
        return SqlBackend(
            "jdbc-sqlite",
            app_settings,
            {"dbcred": {}},
            {"db": {"jdbcUrl": f"jdbc:sqlite:{path}"}},
            formats=(None,),
            url=f"sqlite:///{path}",
        )
    backend = make_backend(request.param, request, app_settings)
    assert isinstance(backend, SqlBackend)
    return backend


def rows(db: SqlBackend, name: str, order: str = "id") -> list[dict[str, Any]]:
    engine = db.engine()
    with engine.connect() as connection:
        table = sa.Table(name, sa.MetaData(), autoload_with=connection)
        result = connection.execute(sa.select(table).order_by(table.c[order]))
        out = [dict(row._mapping) for row in result]
    engine.dispose()
    return out


def write(db: SqlBackend, name: str, table: pa.Table, **settings: Any) -> None:
    adapter = {
        "type": "jdbc",
        "dataStoreId": "db",
        "credentialId": "dbcred",
        "table": name,
        **settings,
    }
    output = open_output(adapter, db.ctx)
    try:
        for batch in table.to_batches(max_chunksize=3):
            output.write(batch)
        output.commit()
    except BaseException:
        output.abort()
        raise


def scores(ids: list[int], score: float) -> pa.Table:
    return pa.table(
        {"id": pa.array(ids, pa.int64()), "score": pa.array([score] * len(ids), pa.float64())}
    )


@pytest.mark.parametrize("spelling", ["insertUpdate", "insert_update"])
def test_insert_update_upserts_on_where_columns(db: SqlBackend, spelling: str) -> None:
    name = db.new_name(None)
    db.put(name, scores([1, 2, 3, 4, 5], 0.0), None)
    write(db, name, scores([4, 5, 6, 7], 1.0), statementType=spelling, whereColumns=["id"])
    assert [(r["id"], r["score"]) for r in rows(db, name)] == [
        (1, 0.0),
        (2, 0.0),
        (3, 0.0),
        (4, 1.0),
        (5, 1.0),
        (6, 1.0),
        (7, 1.0),
    ]


def test_update_sets_only_update_columns_on_matches(db: SqlBackend) -> None:
    name = db.new_name(None)
    db.put(name, pa.table({"id": [1, 2], "score": [0.0, 0.0], "note": ["a", "b"]}), None)
    update = pa.table({"id": [2, 9], "score": [5.0, 5.0], "note": ["x", "x"]})
    write(db, name, update, statementType="update", whereColumns=["id"], updateColumns=["score"])
    assert [(r["id"], r["score"], r["note"]) for r in rows(db, name)] == [
        (1, 0.0, "a"),
        (2, 5.0, "b"),
    ]


@pytest.mark.parametrize("spelling", ["createTable", "create_table"])
def test_create_table_creates_then_refuses_an_existing_table(db: SqlBackend, spelling: str) -> None:
    name = db.new_name(None)
    when = dt.datetime(2024, 5, 4, 11, 20, 41)
    table = pa.table({"id": [1, 2], "label": ["a", "b"], "flag": [True, False], "at": [when, when]})
    write(db, name, table, statementType=spelling)
    got = rows(db, name)
    assert [(r["id"], r["label"], bool(r["flag"]), r["at"]) for r in got] == [
        (1, "a", True, when),
        (2, "b", False, when),
    ]
    with pytest.raises(ConnectorError, match="already exists"):
        write(db, name, table, statementType=spelling)
    assert len(rows(db, name)) == 2


def test_insert_into_a_missing_table_needs_create_if_not_exists(db: SqlBackend) -> None:
    name = db.new_name(None)
    with pytest.raises(ConnectorError, match="does not exist"):
        write(db, name, scores([1], 1.0), statementType="insert")
    assert not db.exists(name)
    write(db, name, scores([1], 1.0), statementType="insert", createTableIfNotExists=True)
    assert len(rows(db, name)) == 1


def test_schema_mismatch_names_the_columns_and_changes_nothing(db: SqlBackend) -> None:
    name = db.new_name(None)
    db.put(name, scores([1], 0.0), None)
    wider = pa.table({"id": [2], "score": [1.0], "extra_column": ["x"]})
    with pytest.raises(ConnectorError, match="extra_column") as caught:
        write(db, name, wider, statementType="insert")
    assert name in caught.value.message
    assert len(rows(db, name)) == 1


def test_a_failing_commit_rolls_back_every_row(db: SqlBackend) -> None:
    """The second batch violates the target's NOT NULL at commit: none of the rows land."""
    name = db.new_name(None)
    engine = db.engine()
    target = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.BigInteger, nullable=False),
        sa.Column("score", sa.Double),
    )
    target.create(engine)
    engine.dispose()
    bad = pa.table({"id": pa.array([1, 2, 3, None], pa.int64()), "score": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ConnectorError, match=name):
        write(db, name, bad, statementType="insert")
    assert rows(db, name) == []


def test_intake_streams_in_fetch_size_rows(db: SqlBackend) -> None:
    name = db.new_name(None)
    db.put(name, scores(list(range(20)), 0.5), None)
    adapter = db.settings_for(name, None, "intake")  # fetchSize 7
    intake = open_intake(adapter, db.ctx)
    batches = list(intake.chunks(1 << 20))
    intake.close()
    assert [b.num_rows for b in batches] == [7, 7, 6]
    assert pa.Table.from_batches(batches).column("id").to_pylist() == list(range(20))


def test_query_intake_reads_with_typed_columns(db: SqlBackend) -> None:
    name = db.new_name(None)
    db.put(name, scores([1, 2, 3], 0.25), None)
    quoted = sa.create_engine(db.url).dialect.identifier_preparer.quote(name)
    adapter = {
        "type": "jdbc",
        "dataStoreId": "db",
        "credentialId": "dbcred",
        "query": f"WITH s AS (SELECT id, score FROM {quoted} WHERE id > 1) "
        "SELECT * FROM s ORDER BY id",
    }
    intake = open_intake(adapter, db.ctx)
    table = pa.Table.from_batches(list(intake.chunks(1 << 20)))
    intake.close()
    assert table.to_pylist() == [{"id": 2, "score": 0.25}, {"id": 3, "score": 0.25}]


def test_query_runs_in_a_read_only_transaction(db: SqlBackend) -> None:
    if db.name != "jdbc-postgres":
        pytest.skip("a SELECT that writes needs a PostgreSQL function here")
    engine = db.engine()
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SEQUENCE IF NOT EXISTS scorecast_ro_seq")
    engine.dispose()
    adapter = {
        "type": "jdbc",
        "dataStoreId": "db",
        "credentialId": "dbcred",
        "query": "SELECT nextval('scorecast_ro_seq')",
    }
    intake = open_intake(adapter, db.ctx)
    with pytest.raises(ConnectorError, match="read-only transaction"):
        list(intake.chunks(1000))
    intake.close()


def test_identifiers_are_quoted_never_spliced(db: SqlBackend) -> None:
    name = 'weird "name"; drop table x; --'
    write(db, name, scores([1, 2], 0.5), statementType="createTable")
    adapter = {"type": "jdbc", "dataStoreId": "db", "credentialId": "dbcred", "table": name}
    intake = open_intake(adapter, db.ctx)
    assert pa.Table.from_batches(list(intake.chunks(1000))).num_rows == 2
    intake.close()


def test_sqlite_only_when_local_databases_are_allowed(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="sqlite://", allow_local_databases=False)
    ctx = make_context(settings, {}, {"db": {"jdbcUrl": f"jdbc:sqlite:{tmp_path / 'x.db'}"}})
    with pytest.raises(ConnectorError, match="SCORECAST_ALLOW_LOCAL_DATABASES"):
        open_intake({"type": "jdbc", "dataStoreId": "db", "table": "t"}, ctx)


def test_connection_failure_names_the_database_not_the_password(app_settings: Settings) -> None:
    ctx = make_context(
        app_settings,
        {"c": {"user": "postgres", "password": "s3cr3t-pw"}},
        {"db": {"jdbcUrl": "jdbc:postgresql://127.0.0.1:1/nowhere"}},
    )
    intake = open_intake(
        {"type": "jdbc", "dataStoreId": "db", "credentialId": "c", "table": "t"}, ctx
    )
    with pytest.raises(ConnectorError) as caught:
        list(intake.chunks(1000))
    assert "127.0.0.1:1/nowhere" in caught.value.message
    assert "s3cr3t-pw" not in caught.value.message
    intake.close()


def test_missing_table_is_a_connector_error(db: SqlBackend) -> None:
    adapter = {
        "type": "jdbc",
        "dataStoreId": "db",
        "credentialId": "dbcred",
        "table": "no_such_table",
    }
    intake = open_intake(adapter, db.ctx)
    with pytest.raises(ConnectorError, match="no_such_table"):
        list(intake.chunks(1000))
    intake.close()


def test_write_queries_are_refused(db: SqlBackend) -> None:
    adapter = {"type": "jdbc", "dataStoreId": "db", "query": "UPDATE t SET a = 1"}
    with pytest.raises(InvalidInput, match="SELECT or WITH"):
        open_intake(adapter, db.ctx)


def test_connections_go_to_the_checked_address() -> None:
    from scorecast.connectors.safety import resolve_host
    from scorecast.connectors.sql_engine import _pinned

    assert resolve_host("8.8.8.8", 5432, allow_private=False) == ["8.8.8.8"]
    assert resolve_host("127.0.0.1", 5432, allow_private=True) == []
    postgres = _pinned(sa.make_url("postgresql+psycopg://u@db.example.com:5432/x"), "8.8.8.8")
    assert postgres.host == "db.example.com" and postgres.query["hostaddr"] == "8.8.8.8"
    mysql = _pinned(sa.make_url("mysql+pymysql://u@db.example.com:3306/x"), "8.8.4.4")
    assert mysql.host == "8.8.4.4"
