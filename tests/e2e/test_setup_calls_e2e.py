"""The calls a user makes while setting up a dataset or a jdbc intake, with the official client
against a real ``scorecast serve`` (private addresses allowed: PostgreSQL is on 127.0.0.1):
a data store is tested and browsed, a dataset is downloaded, and the database password never
reaches an answer or the server's output."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from serving import ServeProcess

from scorecast.demo import DATA
from services import POSTGRES, drop_postgres_database, pg_execute, require

pytestmark = pytest.mark.e2e

PASSWORD = "e2e-pw-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def warehouse() -> Iterator[str]:
    require(POSTGRES)
    name = f"scorecast_e2e_setup_{os.getpid()}"
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        drop_postgres_database(name)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    home = tmp_path_factory.mktemp("setup-home")
    env = {"SCORECAST_ALLOW_PRIVATE_ENDPOINTS": "1"}
    store = f"sqlite:///{home / 'scorecast.db'}"
    process = ServeProcess(home, store, "--log-level", "debug", env=env).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def dr(server: ServeProcess) -> Any:
    import datarobot

    datarobot.Client(endpoint=server.endpoint, token=server.token)
    return datarobot


def test_data_store_test_schemas_tables(dr: Any, server: ServeProcess, warehouse: str) -> None:
    store = dr.DataStore.create(
        data_store_type="jdbc",
        canonical_name="Warehouse",
        driver_id="postgresql",
        jdbc_url=f"jdbc:postgresql://127.0.0.1:5432/{warehouse}",
    )
    assert store.test(username="postgres", password=PASSWORD) == {
        "message": "Connection successful"
    }
    assert "public" in store.schemas(username="postgres", password=PASSWORD)["schemas"]
    assert store.tables(username="postgres", password=PASSWORD) == {
        "catalog": warehouse,
        "tables": [],
    }
    with pytest.raises(dr.errors.ClientError) as refused:
        store.test(username="nobody-here", password=PASSWORD)
    assert refused.value.status_code == 422
    assert "nobody-here" in str(refused.value)
    assert PASSWORD not in str(refused.value.json)
    everything_printed = "\n".join(server.lines) + (server.home / "serve.log").read_text()
    assert PASSWORD not in everything_printed


def test_dataset_download(dr: Any, tmp_path: Path) -> None:
    dataset = dr.Dataset.create_from_file(file_path=str(DATA))
    copy = tmp_path / "copy.csv"
    dataset.get_file(file_path=str(copy))
    assert copy.read_bytes() == DATA.read_bytes()
    pd.testing.assert_frame_equal(dataset.get_as_dataframe(), pd.read_csv(DATA))
