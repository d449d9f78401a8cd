"""Fixtures and client helpers of ``test_connectors_e2e.py``: the emulators (started by the
connector suite's ``tests/connectors/emulators.py``), a PostgreSQL database for jdbc, the two
``scorecast serve`` processes with their tokens and deployments, and readers of a store.

The test module imports the fixtures by name (module scope: one set per test module).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from clouds import AnswerLog, Secrets, emulators
from serving import ServeProcess

from scorecast.store.db import session_scope
from scorecast.store.models import Job, ScheduleFire
from services import POSTGRES, drop_postgres_database, pg_execute, pg_url, require

TERMINAL = ("COMPLETED", "FAILED", "ABORTED")


@pytest.fixture(scope="module")
def answers() -> AnswerLog:
    return AnswerLog()


@pytest.fixture(scope="module")
def keys() -> Secrets:
    return Secrets()


@pytest.fixture(scope="module")
def moto() -> Iterator[emulators.Running]:
    with emulators.moto() as running:
        yield running


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulators.Running]:
    with emulators.azurite(tmp_path_factory.mktemp("azurite")) as running:
        yield running


@pytest.fixture(scope="module")
def gcs() -> Iterator[emulators.Running]:
    with emulators.gcs() as running:
        yield running


@pytest.fixture(scope="module")
def s3(moto: emulators.Running) -> Any:
    """A boto3 client of the moto server, with the buckets ``foobar`` (the seed's) and ``e2e``."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=moto.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for bucket in ("foobar", "e2e"):
        client.create_bucket(Bucket=bucket)
    return client


@pytest.fixture(scope="module")
def warehouse() -> Iterator[str]:
    """A PostgreSQL database for the jdbc test (the name)."""
    require(POSTGRES)
    name = f"scorecast_e2e_warehouse_{os.getpid()}"
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        drop_postgres_database(name)


# --- servers -----------------------------------------------------------------------------------


def _server_env(gcs: emulators.Running) -> dict[str, str]:
    return {"SCORECAST_ALLOW_PRIVATE_ENDPOINTS": "1", "STORAGE_EMULATOR_HOST": gcs.endpoint}


def _cli(home: Path, database_url: str, *args: str, **env: str) -> str:
    """Run the ``scorecast`` CLI against ``home``; its last stdout line."""
    done = subprocess.run(
        [sys.executable, "-m", "scorecast", *args],
        env={
            **os.environ,
            "SCORECAST_HOME": str(home),
            "SCORECAST_DATABASE_URL": database_url,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1].strip()


@pytest.fixture(scope="module")
def sqlite_server(
    tmp_path_factory: pytest.TempPathFactory, gcs: emulators.Running
) -> Iterator[ServeProcess]:
    """``scorecast serve`` on a SQLite store; the token is the one serve prints on first start."""
    home = tmp_path_factory.mktemp("home-sqlite")
    process = ServeProcess(
        home, f"sqlite:///{home / 'scorecast.db'}", "--workers", "2", env=_server_env(gcs)
    ).start()
    try:
        assert process.token, process.output()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def pg_server(
    tmp_path_factory: pytest.TempPathFactory, gcs: emulators.Running
) -> Iterator[ServeProcess]:
    """``scorecast serve`` on a PostgreSQL store; the token from ``scorecast token create``."""
    require(POSTGRES)
    home = tmp_path_factory.mktemp("home-postgres")
    name = f"scorecast_e2e_connectors_{os.getpid()}"
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    url = pg_url(name)
    try:
        token = _cli(home, url, "token", "create", "--org", "e2e", "--user", "tester")
        process = ServeProcess(home, url, "--workers", "2", env=_server_env(gcs)).start()
        process.token = token
        try:
            yield process
        finally:
            process.stop()
    finally:
        drop_postgres_database(name)


@pytest.fixture(scope="module")
def sqlite_deployment(sqlite_server: ServeProcess, onnx_binary_model: Path) -> str:
    """The test model registered with ``scorecast deployment create``."""
    assert sqlite_server.token
    return _cli(
        sqlite_server.home,
        sqlite_server.database_url,
        "deployment",
        "create",
        str(onnx_binary_model),
        "--target",
        "label",
        "--target-type",
        "binary",
        "--positive-class",
        "yes",
        "--label",
        "connectors e2e",
        SCORECAST_ENDPOINT=sqlite_server.endpoint,
        SCORECAST_TOKEN=sqlite_server.token,
    )


@pytest.fixture(scope="module")
def pg_deployment(pg_server: ServeProcess, onnx_binary_model: Path, answers: AnswerLog) -> str:
    """The test model registered through ``POST deployments/fromModelFile/``."""
    with http(pg_server, answers) as client:
        response = client.post(
            "deployments/fromModelFile/",
            files={"file": ("binary.onnx", onnx_binary_model.read_bytes())},
            data={"targetName": "label", "targetType": "binary", "positiveClass": "yes"},
        )
    assert response.status_code == 201, response.text
    deployment_id: str = response.json()["id"]
    return deployment_id


def connect(server: ServeProcess, answers: AnswerLog) -> Any:
    """The official client pointed at ``server``, its answers recorded."""
    import datarobot

    client = datarobot.Client(endpoint=server.endpoint, token=server.token)
    answers.attach_requests(client)
    return datarobot


def http(server: ServeProcess, answers: AnswerLog) -> httpx.Client:
    return httpx.Client(
        base_url=server.endpoint + "/",
        headers={"Authorization": f"Token {server.token}"},
        timeout=60,
        event_hooks=answers.httpx_hooks(),
    )


def s3_credential(dr: Any, keys: Secrets, name: str) -> Any:
    return dr.Credential.create_s3(
        name,
        aws_access_key_id=keys.aws_access_key_id,
        aws_secret_access_key=keys.aws_secret_access_key,
    )


def finished(job: Any, timeout: float = 180) -> dict[str, Any]:
    """The job's status (``job.get_status()``) once terminal.

    Polls (every 0.5 s) rather than ``wait_for_completion`` (every 5 s), to keep tests short.
    """
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = job.get_status()
        if status["status"] in TERMINAL:
            return status
        assert time.monotonic() < deadline, f"job {job.id} still {status['status']}"
        time.sleep(0.5)


def azure_container(azurite: emulators.Running, name: str) -> Any:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(
        emulators.azurite_connection_string(azurite.port)
    )
    container = service.get_container_client(name)
    if not container.exists():
        container.create_container()
    return container


def read_fires(engine: sa.Engine, definition_id: str) -> list[ScheduleFire]:
    with session_scope(engine) as session:
        return list(
            session.scalars(
                sa.select(ScheduleFire)
                .where(ScheduleFire.definition_id == definition_id)
                .order_by(ScheduleFire.scheduled_time)
            )
        )


def read_jobs(engine: sa.Engine, definition_id: str) -> list[Job]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(Job).where(Job.definition_id == definition_id)))


def poll(what: str, probe: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s")
        time.sleep(1)


def store_text(database_url: str) -> str:
    """Every row of every table of a store, as text."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return "\n".join(
                repr(tuple(row))
                for table in metadata.sorted_tables
                for row in connection.execute(sa.select(table))
            )
    finally:
        engine.dispose()
