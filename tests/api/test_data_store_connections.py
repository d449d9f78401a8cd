"""``DataStore.test()``, ``schemas()`` and ``tables()``: the official client against a real
server, with a real PostgreSQL database as the data store (private addresses allowed here)."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Iterator
from typing import Any

import datarobot as dr
import pytest
from api_helpers import Api, api_a_fixture, api_b_fixture, assert_json_error
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from live_api import LiveServer, serve_app, write_lock_held
from scorecast.config import Settings
from services import MARIADB, POSTGRES, free_port, pg_execute, require

__all__ = ["api_a_fixture", "api_b_fixture"]

#: A password that must never appear in an answer (PostgreSQL here trusts local users).
PASSWORD = "pw-" + secrets.token_hex(8)

# The store backend does not matter here; the data store is always PostgreSQL.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test PostgreSQL server listens on 127.0.0.1, so private addresses are allowed."""
    return dataclasses.replace(settings, allow_private_endpoints=True)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A PostgreSQL database with a table and a view in schema ``sales``, a table in public."""
    require(POSTGRES)
    import psycopg

    name = f"scorecast_ds_{os.getpid()}_{secrets.token_hex(3)}"
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname=name) as connection:
            connection.execute("CREATE SCHEMA sales")
            connection.execute("CREATE TABLE sales.orders (id int, amount float)")
            connection.execute("CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders")
            connection.execute("CREATE TABLE public.patients (id int)")
        yield name
    finally:
        pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _jdbc(database: str, port: int = 5432) -> str:
    return f"jdbc:postgresql://127.0.0.1:{port}/{database}"


def _store(api: Api, jdbc_url: str) -> str:
    created = api.post(
        "externalDataStores/",
        json={"type": "jdbc", "canonicalName": "sales", "params": {"jdbcUrl": jdbc_url}},
    )
    assert created.status_code == 201, created.text
    store_id: str = created.json()["id"]
    return store_id


def test_official_client_tests_and_browses_a_postgres_store(
    live_server: LiveServer, database: str
) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    store = dr.DataStore.create(
        data_store_type="jdbc", canonical_name="Sales", driver_id="pg", jdbc_url=_jdbc(database)
    )
    assert store.test(username="postgres", password=PASSWORD) == {
        "message": "Connection successful"
    }
    schemas = store.schemas(username="postgres", password=PASSWORD)
    assert schemas["catalog"] == database
    assert {"public", "sales"} <= set(schemas["schemas"])
    tables = store.tables(username="postgres", password=PASSWORD, schema="sales")
    assert tables == {
        "catalog": database,
        "tables": [
            {"catalog": database, "schema": "sales", "name": "big_orders", "type": "VIEW"},
            {"catalog": database, "schema": "sales", "name": "orders", "type": "TABLE"},
        ],
    }
    default = store.tables(username="postgres", password=PASSWORD)
    assert [(t["schema"], t["name"]) for t in default["tables"]] == [("public", "patients")]


def test_stored_and_inline_credentials(live_server: LiveServer, database: str) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    store = dr.DataStore.create(
        data_store_type="jdbc", canonical_name="Sales", driver_id="pg", jdbc_url=_jdbc(database)
    )
    credential = dr.Credential.create_basic("db", user="postgres", password=PASSWORD)
    assert store.test(credential_id=credential.credential_id)["message"] == "Connection successful"
    inline = {"credentialType": "basic", "user": "postgres", "password": PASSWORD}
    assert store.test(credential_data=inline)["message"] == "Connection successful"


def test_a_refused_connection_is_a_422_that_says_why(api_a: Api, database: str) -> None:
    store_id = _store(api_a, _jdbc(database))
    answer = api_a.post(
        f"externalDataStores/{store_id}/test/", json={"user": "nobody", "password": PASSWORD}
    )
    body = assert_json_error(answer, 422)
    assert "nobody" in body["message"] and "connection" in body["errors"]
    assert PASSWORD not in answer.text
    closed = _store(api_a, _jdbc(database, port=free_port()))
    body = assert_json_error(api_a.post(f"externalDataStores/{closed}/schemas/", json={}), 422)
    assert "cannot connect to postgresql 127.0.0.1" in body["message"]


def test_the_official_client_sees_the_failure(live_server: LiveServer, database: str) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    store = dr.DataStore.create(
        data_store_type="jdbc", canonical_name="Sales", driver_id="pg", jdbc_url=_jdbc(database)
    )
    with pytest.raises(dr.errors.ClientError) as raised:
        store.tables(username="postgres", password=PASSWORD, schema="nosuch")
    assert raised.value.status_code == 422
    assert raised.value.json["errors"] == {"schema": "the database has no schema 'nosuch'"}


def test_bad_bodies_name_the_field(api_a: Api, database: str) -> None:
    store_id = _store(api_a, _jdbc(database))
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("test", {"usr": "postgres"}, "usr"),
        ("test", {"useKerberos": True}, "useKerberos"),
        ("test", {"password": PASSWORD}, "user"),
        ("test", {"user": 5}, "user"),
        ("test", {"user": "postgres", "credentialId": "x"}, "user"),
        ("test", {"credentialData": {"credentialType": "s3"}}, "credentialData"),
        ("test", {"credentialData": "postgres"}, "credentialData"),
        ("tables", {"schema": ""}, "schema"),
        ("tables", {"schema": 3}, "schema"),
    ]
    for call, body, field in cases:
        answer = api_a.post(f"externalDataStores/{store_id}/{call}/", json=body)
        problem = assert_json_error(answer, 422)
        assert field in problem["errors"], (call, body, answer.text)
        assert PASSWORD not in answer.text
    not_json = api_a.post(f"externalDataStores/{store_id}/test/", json=["postgres"])
    assert_json_error(not_json, 422)
    # the official client sends no body at all when it has no user: no user, not an error
    empty = api_a.post(f"externalDataStores/{store_id}/schemas/")
    assert empty.status_code == 200 or "connection" in assert_json_error(empty, 422)["errors"]


def test_other_organizations_get_404(api_a: Api, api_b: Api, database: str) -> None:
    store_a = _store(api_a, _jdbc(database))
    store_b = _store(api_b, _jdbc(database))
    credential_a = api_a.post(
        "credentials/",
        json={"name": "db", "credentialType": "basic", "user": "postgres", "password": PASSWORD},
    ).json()["credentialId"]
    for call in ("test", "schemas", "tables"):
        body = assert_json_error(api_b.post(f"externalDataStores/{store_a}/{call}/", json={}), 404)
        assert body["errors"] == {"dataStoreId": "not found"}
    borrowed = api_b.post(
        f"externalDataStores/{store_b}/test/", json={"credentialId": credential_a}
    )
    assert assert_json_error(borrowed, 404)["errors"] == {"credentialId": "not found"}
    assert_json_error(api_a.post("externalDataStores/nope/test/", json={}), 404)


def test_private_addresses_are_refused_unless_allowed(
    live_server: LiveServer, api_a: Api, database: str
) -> None:
    """A store saved while private addresses were allowed is refused by a server without it."""
    store_id = _store(api_a, _jdbc(database))
    strict = dataclasses.replace(live_server.settings, allow_private_endpoints=False)
    with serve_app(strict, live_server.engine) as base_url:
        strict_api = Api(
            dataclasses.replace(live_server, url=f"{base_url}/api/v2"), live_server.token
        )
        for call in ("test", "schemas", "tables"):
            answer = strict_api.post(f"externalDataStores/{store_id}/{call}/", json={})
            body = assert_json_error(answer, 422)
            assert "SCORECAST_ALLOW_PRIVATE_ENDPOINTS" in body["message"]
            assert "jdbcUrl" in body["errors"]["params"]
        strict_api.http.close()


@pytest.fixture
def mariadb_database() -> Iterator[str]:
    """A MariaDB database with one table and one view (root without a password, as set up)."""
    require(MARIADB)
    import pymysql

    name = f"scorecast_ds_{os.getpid()}_{secrets.token_hex(3)}"
    connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
            cursor.execute(f"CREATE TABLE `{name}`.orders (id int)")
            cursor.execute(f"CREATE VIEW `{name}`.recent AS SELECT id FROM `{name}`.orders")
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()


def test_a_mariadb_store_lists_its_database(live_server: LiveServer, mariadb_database: str) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    store = dr.DataStore.create(
        data_store_type="jdbc",
        canonical_name="Shop",
        driver_id="mariadb",
        jdbc_url=f"jdbc:mariadb://127.0.0.1:3306/{mariadb_database}",
    )
    assert store.test(username="root", password="")["message"] == "Connection successful"
    assert mariadb_database in store.schemas(username="root", password="")["schemas"]
    tables = store.tables(username="root", password="")
    assert tables["catalog"] == mariadb_database
    assert [(t["schema"], t["name"], t["type"]) for t in tables["tables"]] == [
        (mariadb_database, "orders", "TABLE"),
        (mariadb_database, "recent", "VIEW"),
    ]


_KEYS = ["user", "password", "credentialId", "credentialData", "credentialType", "schema"]
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["basic", "s3", "postgres", "public"])
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)
_BODIES = st.dictionaries(st.sampled_from([*_KEYS, "useKerberos"]), _VALUES, max_size=4) | _VALUES


@hypothesis_settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_BODIES, call=st.sampled_from(["test", "schemas", "tables"]))
def test_any_json_body_is_an_answer_or_a_4xx(api_a: Api, body: object, call: str) -> None:
    """Nothing listens at the store's port: every body that passes the checks is refused fast."""
    store_id = _store(api_a, _jdbc("x", port=free_port()))
    answer = api_a.post(f"externalDataStores/{store_id}/{call}/", json=body)
    assert answer.status_code in (404, 422), answer.text
    assert answer.headers["content-type"] == "application/json"


def test_a_connection_test_holds_no_write_lock(
    live_server: LiveServer, api_a: Api, database: str
) -> None:
    """``test/``, ``schemas/`` and ``tables/`` only read: they are answered while another
    connection holds the store's write lock (a writer would wait for it, and would hold it for
    as long as the data store took to answer)."""
    store_id = _store(api_a, _jdbc(database, port=free_port()))
    assert api_a.get("externalDataStores/").status_code == 200  # notes the token's use now
    with write_lock_held(live_server):
        for call in ("test/", "schemas/", "tables/"):
            answer = api_a.post(f"externalDataStores/{store_id}/{call}", json={})
            assert_json_error(answer, 422)  # nothing listens there: refused, and said
