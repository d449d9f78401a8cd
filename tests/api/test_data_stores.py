"""Data stores (``externalDataStores/``) through a real server and the official client."""

from __future__ import annotations

import datarobot as dr
import httpx

from live_api import LiveServer

JDBC_URL = "jdbc:postgresql://db.example.com:5432/sales"


def test_crud_with_the_official_client(live_server: LiveServer) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    store = dr.DataStore.create(
        data_store_type="jdbc", canonical_name="Sales DB", driver_id="pg", jdbc_url=JDBC_URL
    )
    assert store.id
    fetched = dr.DataStore.get(store.id)
    assert (fetched.canonical_name, fetched.params.jdbc_url) == ("Sales DB", JDBC_URL)
    assert [s.id for s in dr.DataStore.list()] == [store.id]
    fetched.update(canonical_name="Sales")
    assert dr.DataStore.get(store.id).canonical_name == "Sales"
    fetched.delete()
    assert dr.DataStore.list() == []


def test_patch_merges_params(live_server: LiveServer) -> None:
    url = f"{live_server.url}/externalDataStores/"
    headers = live_server.headers()
    created = httpx.post(
        url,
        json={
            "type": "jdbc",
            "canonicalName": "x",
            "params": {"jdbcUrl": JDBC_URL, "driverId": "d"},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    store_id = created.json()["id"]
    other = "jdbc:mysql://db.example.com:3306/sales"
    patched = httpx.patch(f"{url}{store_id}/", json={"params": {"jdbcUrl": other}}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["params"] == {"jdbcUrl": other, "driverId": "d"}
    bad = httpx.patch(
        f"{url}{store_id}/", json={"params": {"jdbcUrl": "jdbc:oracle://x/y"}}, headers=headers
    )
    assert bad.status_code == 422
    assert httpx.get(f"{url}{store_id}/", headers=headers).json()["params"]["jdbcUrl"] == other
    # an address in another key replaces the stored one (the connector reads only one)
    moved = "postgresql://db2.example.com:5432/hr"
    replaced = httpx.patch(
        f"{url}{store_id}/", json={"params": {"sqlalchemyUrl": moved}}, headers=headers
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["params"] == {"sqlalchemyUrl": moved, "driverId": "d"}
    unchecked = httpx.patch(
        f"{url}{store_id}/", json={"params": {"url": "mssql+pyodbc://h/x"}}, headers=headers
    )
    assert unchecked.status_code == 422, unchecked.text
    assert "url" in unchecked.json()["errors"]["params"]


def test_bad_bodies_are_422_naming_the_field(live_server: LiveServer) -> None:
    url = f"{live_server.url}/externalDataStores/"
    cases = [
        ({"canonicalName": "x", "params": {"jdbcUrl": JDBC_URL}}, "type"),
        ({"type": "dr-database-v1", "canonicalName": "x", "params": {}}, "type"),
        ({"type": "jdbc", "params": {"jdbcUrl": JDBC_URL}}, "canonicalName"),
        ({"type": "jdbc", "canonicalName": "x"}, "params"),
        ({"type": "jdbc", "canonicalName": "x", "params": {"driverId": "d"}}, "params"),
        (
            {"type": "jdbc", "canonicalName": "x", "params": {"jdbcUrl": "jdbc:oracle://h/d"}},
            "params",
        ),
        (
            {
                "type": "jdbc",
                "canonicalName": "x",
                "params": {"jdbcUrl": "jdbc:postgresql://127.0.0.1:5432/x"},
            },
            "params",
        ),
        (
            {
                "type": "jdbc",
                "canonicalName": "x",
                "params": {"jdbcUrl": JDBC_URL, "password": "pw"},
            },
            "params",
        ),
    ]
    secrets = [
        {"jdbcUrl": JDBC_URL, "Password": "pw"},
        {"jdbcUrl": JDBC_URL, "PWD": "pw"},
        {"jdbcUrl": f"{JDBC_URL}?Password=pw"},
        {"jdbcUrl": "jdbc:mysql://db.example.com:3306/x?PASSWORD=pw&User=bob"},
        {"jdbcUrl": JDBC_URL, "sqlalchemyUrl": "postgresql://db.example.com/sales"},
        # other names for a secret or a user, dropped to connect but stored as written
        {"jdbcUrl": f"{JDBC_URL}?sslpassword=pw"},
        {"jdbcUrl": "jdbc:mysql://db.example.com:3306/x?trustCertificateKeyStorePassword=pw"},
        {"jdbcUrl": JDBC_URL, "username": "alice"},
        {"jdbcUrl": JDBC_URL, "pass": "pw"},
        {"jdbcUrl": JDBC_URL, "fields": [{"id": "password", "value": "pw"}]},
        {"sqlalchemyUrl": "postgresql://alice:pw@db.example.com/sales"},
    ]
    cases += [({"type": "jdbc", "canonicalName": "x", "params": p}, "params") for p in secrets]
    for body, field in cases:
        response = httpx.post(url, json=body, headers=live_server.headers())
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["errors"], (body, response.text)
    assert httpx.get(url, headers=live_server.headers()).json()["data"] == []
