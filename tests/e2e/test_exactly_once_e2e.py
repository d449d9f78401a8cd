"""A server killed between an output's commit and the job's COMPLETED status: after a restart the
job's retry finds the commit and completes without writing again, so the target holds exactly
the input's rows, once, for every connector (issue 14, item 5).

The crash is the fault-injection point ``SCORECAST_FAULT_CRASH_AFTER_OUTPUT_COMMIT=1``
(``runtime/fault_points.py``): attempt 1's job process kills its service with SIGKILL right after
``commit()`` returned. The second server runs with the same setting, so a retry that committed
again would crash it again and the job would never complete.
"""

# The fixtures imported from connector_servers are used as parameters, by name.
# ruff: noqa: F811

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from clouds import AnswerLog, emulators
from connector_servers import (  # noqa: F401
    answers,
    azure_container,
    azurite,
    gcs,
    http,
    moto,
    s3,
    warehouse,
)
from job_streams import wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model
from sqlalchemy.pool import NullPool

from scorecast.runtime.fault_points import CRASH_AFTER_OUTPUT_COMMIT
from services import MARIADB, pg_url, require

pytestmark = pytest.mark.e2e

ROWS = 5_000
CONNECTORS = [
    "localFile",
    "filesystem",
    "jdbc-sqlite",
    pytest.param("jdbc-postgres", marks=pytest.mark.postgres),
    "jdbc-mariadb",
    "s3",
    "gcp",
    "azure",
]


@pytest.fixture(scope="module")
def mariadb_warehouse() -> Iterator[str]:
    """A MariaDB database for the jdbc-mariadb target (its name)."""
    require(MARIADB)
    name = f"scorecast_once_{os.getpid()}"
    admin = sa.create_engine(
        "mysql+pymysql://root@127.0.0.1:3306/", isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        connection.exec_driver_sql(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


@dataclass
class Target:
    """Where the job writes: its ``outputSettings`` (made once the server runs) and a reader
    of the rows there (None when the target does not exist)."""

    settings: Callable[[ServeProcess, AnswerLog], dict[str, Any]]
    rows: Callable[[], pd.DataFrame | None]


def _csv_or_none(read: Callable[[], bytes]) -> pd.DataFrame | None:
    try:
        return pd.read_csv(io.BytesIO(read()))
    except FileNotFoundError:
        return None


def _local_file(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return Target(lambda *_: {"type": "localFile"}, lambda: None)  # read through the download


def _filesystem(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    path = tmp_path / "root" / "scored.csv"
    return Target(
        lambda *_: {"type": "filesystem", "url": path.as_uri()},
        lambda: _csv_or_none(path.read_bytes),
    )


def _jdbc(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    driver = request.node.callspec.params["connector"].split("-")[1]
    login: dict[str, str] | None = None  # trusted local logins: the password is not checked
    if driver == "sqlite":
        database = tmp_path / "warehouse.db"
        address = {"jdbcUrl": f"jdbc:sqlite:{database}"}
        engine_url = f"sqlite:///{database}"
    elif driver == "mariadb":
        database_name = request.getfixturevalue("mariadb_warehouse")
        engine_url = f"mysql+pymysql://root@127.0.0.1:3306/{database_name}"
        address = {"sqlalchemyUrl": f"mysql://root@127.0.0.1:3306/{database_name}"}
    else:
        database_name = request.getfixturevalue("warehouse")
        address = {"jdbcUrl": f"jdbc:postgresql://127.0.0.1:5432/{database_name}"}
        engine_url = pg_url(database_name)
        login = {"credentialType": "basic", "user": "postgres", "password": "unchecked"}

    def settings(server: ServeProcess, log: AnswerLog) -> dict[str, Any]:
        found: dict[str, Any] = {}
        with http(server, log) as client:
            store = client.post(
                "externalDataStores/",
                json={"type": "jdbc", "canonicalName": name, "params": address},
            )
            assert store.status_code == 201, store.text
            if login is not None:
                made = client.post("credentials/", json={"name": name, **login})
                assert made.status_code == 201, made.text
                found["credentialId"] = made.json()["credentialId"]
        return {
            "type": "jdbc",
            "dataStoreId": store.json()["id"],
            **found,
            "table": name,
            "statementType": "insert",
            "createTableIfNotExists": True,
        }

    def rows() -> pd.DataFrame | None:
        engine = sa.create_engine(engine_url, poolclass=sa.pool.NullPool)
        try:
            if not sa.inspect(engine).has_table(name):
                return None
            with engine.connect() as connection:
                return pd.read_sql_table(name, connection)
        finally:
            engine.dispose()

    return Target(settings, rows)


def _s3(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    client, moto_server = request.getfixturevalue("s3"), request.getfixturevalue("moto")
    key = f"once/{name}.csv"

    def settings(server: ServeProcess, log: AnswerLog) -> dict[str, Any]:
        with http(server, log) as api:
            login = api.post(
                "credentials/",
                json={
                    "name": name,
                    "credentialType": "s3",
                    "awsAccessKeyId": "testing",
                    "awsSecretAccessKey": "testing",
                },
            )
            assert login.status_code == 201, login.text
        return {
            "type": "s3",
            "url": f"s3://e2e/{key}",
            "endpointUrl": moto_server.endpoint,
            "credentialId": login.json()["credentialId"],
        }

    def rows() -> pd.DataFrame | None:
        if not client.list_objects_v2(Bucket="e2e", Prefix=key).get("Contents"):
            return None
        assert not client.list_multipart_uploads(Bucket="e2e", Prefix=key).get("Uploads")
        return pd.read_csv(client.get_object(Bucket="e2e", Key=key)["Body"])

    return Target(settings, rows)


def _gcp(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    emulator = request.getfixturevalue("gcs")
    bucket = storage.Client(
        project="e2e-project",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.endpoint},
    ).bucket("e2e-once")
    if not bucket.exists():
        bucket.create()
    blob_name = f"{name}.csv"

    def rows() -> pd.DataFrame | None:
        blob = bucket.get_blob(blob_name)
        return None if blob is None else pd.read_csv(io.BytesIO(blob.download_as_bytes()))

    return Target(lambda *_: {"type": "gcp", "url": f"gs://e2e-once/{blob_name}"}, rows)


def _azure(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    running: emulators.Running = request.getfixturevalue("azurite")
    container = azure_container(running, "once")
    blob_name = f"{name}.csv"

    def settings(server: ServeProcess, log: AnswerLog) -> dict[str, Any]:
        with http(server, log) as api:
            login = api.post(
                "credentials/",
                json={
                    "name": name,
                    "credentialType": "azure",
                    "azureConnectionString": emulators.azurite_connection_string(running.port),
                },
            )
            assert login.status_code == 201, login.text
        account = emulators.AZURITE_ACCOUNT
        return {
            "type": "azure",
            "url": f"http://127.0.0.1:{running.port}/{account}/once/{blob_name}",
            "credentialId": login.json()["credentialId"],
        }

    def rows() -> pd.DataFrame | None:
        blob = container.get_blob_client(blob_name)
        if not blob.exists():
            return None
        return pd.read_csv(io.BytesIO(blob.download_blob().readall()))

    return Target(settings, rows)


_TARGETS: dict[str, Callable[[str, pytest.FixtureRequest, Path], Target]] = {
    "localFile": _local_file,
    "filesystem": _filesystem,
    "jdbc-sqlite": _jdbc,
    "jdbc-postgres": _jdbc,
    "jdbc-mariadb": _jdbc,
    "s3": _s3,
    "gcp": _gcp,
    "azure": _azure,
}


def _server(home: Path, tmp_path: Path, gcs_endpoint: str | None) -> ServeProcess:
    env = {
        CRASH_AFTER_OUTPUT_COMMIT: "1",
        "SCORECAST_ALLOW_PRIVATE_ENDPOINTS": "1",
        "SCORECAST_ALLOW_LOCAL_DATABASES": "1",
        "SCORECAST_FILE_ROOTS": str(tmp_path / "root"),
    }
    if gcs_endpoint is not None:
        env["STORAGE_EMULATOR_HOST"] = gcs_endpoint
    url = f"sqlite:///{home / 'scorecast.db'}"
    return ServeProcess(home, url, "--workers", "1", "--lease-seconds", "3", env=env)


@pytest.mark.parametrize("connector", CONNECTORS)
def test_a_crash_between_commit_and_status_leaves_the_rows_exactly_once(
    connector: str, request: pytest.FixtureRequest, tmp_path: Path, answers: AnswerLog
) -> None:
    (tmp_path / "root").mkdir()
    name = f"once_{tmp_path.name[-12:]}".replace("-", "_").lower()
    target = _TARGETS[connector](name, request, tmp_path)
    home = tmp_path / "home"
    source = patients_csv(tmp_path / "input.csv", copies=ROWS // 500)
    gcs_endpoint = request.getfixturevalue("gcs").endpoint if connector == "gcp" else None
    first = _server(home, tmp_path, gcs_endpoint).start()
    token = first.token
    assert token, first.output()
    try:
        deployment = register_demo_model(first)
        output = target.settings(first, answers)
        with first.http() as client:
            created = client.post(
                "batchPredictions/",
                json={
                    "deploymentId": deployment,
                    "intakeSettings": {"type": "localFile"},
                    "outputSettings": output,
                    "passthroughColumns": ["patient_id"],
                },
            )
            assert created.status_code == 202, created.text
            job = created.json()
            upload = client.put(job["links"]["csvUpload"], content=source.read_bytes())
            assert upload.status_code == 202, upload.text
        assert first.process is not None
        first.process.wait(180)  # the fault point kills the server right after the commit
        assert first.process.returncode == -9, first.output()
    finally:
        first.kill()

    if connector != "localFile":
        committed = target.rows()
        assert committed is not None and len(committed) == ROWS  # committed before the crash

    second = _server(home, tmp_path, gcs_endpoint)
    second.token = token
    second.start()
    try:
        with second.http(token) as client:
            done = wait_for_job(
                client,
                job["id"],
                lambda j: j["status"] in ("COMPLETED", "ABORTED", "FAILED"),
                timeout=180,
            )
            assert done["status"] == "COMPLETED", done
            assert any("already committed by" in line for line in done["logs"]), done["logs"]
            if connector == "localFile":
                body = client.get(done["links"]["download"]).content
                rows: pd.DataFrame | None = pd.read_csv(io.BytesIO(body))
            else:
                rows = target.rows()
    finally:
        second.stop()
    assert second.process is not None and second.process.returncode == 0, second.output()
    assert rows is not None and len(rows) == ROWS, None if rows is None else len(rows)
    assert rows["patient_id"].is_unique
    if connector == "filesystem":
        assert [p.name for p in (tmp_path / "root").iterdir()] == ["scored.csv"]  # no debris
