"""The network-safety attack corpus against a real ``scorecast serve`` (issue 14, items 2-4,
redirects, NAT64/6to4).

Each attempt is refused at submit (a 422 naming the field) or fails its job, from the
organization that owns the object and from another one, and the listeners on 127.0.0.1 and on
Unix sockets record that nothing arrived. The server does not allow private addresses, so every
listener is out of bounds; no test sends traffic to a non-loopback address (where an address
such as ``db.example.com`` appears, the refusal comes before any connection).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from clouds import emulators  # also puts tests/connectors on the path
from google_keys import service_account_key
from listeners import Listeners
from serving import ServeProcess, register_demo_model

from scorecast.store.models import DataStore

pytestmark = [pytest.mark.e2e]

TERMINAL = ("COMPLETED", "FAILED", "ABORTED")
ORGS = ("alpha", "beta")


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    # Unix socket paths are limited to about 100 bytes: a short folder, not pytest's tmp_path
    folder = Path(tempfile.mkdtemp(prefix="scorecast-ns-"))
    paths = [folder / ".s.PGSQL.5432", folder / "mysqld.sock"]
    with Listeners(paths) as running:
        yield running
    for path in paths:
        path.unlink(missing_ok=True)
    folder.rmdir()


def _token(home: Path, database_url: str, org: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scorecast",
            "token",
            "create",
            "--org",
            org,
            "--user",
            f"{org}-user",
        ],
        env={**os.environ, "SCORECAST_HOME": str(home), "SCORECAST_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1].strip()


class StrictServer:
    """A ``scorecast serve`` that allows no private address, with a token per organization."""

    def __init__(self, process: ServeProcess, tokens: dict[str, str]) -> None:
        self.process, self.tokens = process, tokens
        self.deployments = {org: register_demo_model(process, tokens[org]) for org in tokens}

    def http(self, org: str) -> httpx.Client:
        return self.process.http(self.tokens[org])

    def store(self) -> sa.Engine:
        return sa.create_engine(self.process.database_url, poolclass=sa.pool.NullPool)


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StrictServer]:
    home = tmp_path_factory.mktemp("home-strict")
    url = f"sqlite:///{home / 'scorecast.db'}"
    tokens = {org: _token(home, url, org) for org in ORGS}
    env = {
        "SCORECAST_ALLOW_PRIVATE_ENDPOINTS": "0",
        "SCORECAST_ALLOW_LOCAL_DATABASES": "0",
        "STORAGE_EMULATOR_HOST": "",  # the real GCS path, where keys are used
    }
    process = ServeProcess(home, url, "--workers", "2", env=env).start()
    try:
        yield StrictServer(process, tokens)
    finally:
        process.stop()


def finished_job(client: httpx.Client, job_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"batchPredictions/{job_id}/").json()
        if job["status"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        time.sleep(0.5)


# --- item 2: JDBC addresses that redirect the connection ---------------------------------------


def jdbc_attacks(listeners: Listeners) -> list[dict[str, str]]:
    port = listeners.tcp_port
    folder = listeners.unix_paths[0].parent
    mysql_socket = listeners.unix_paths[1]
    return [
        {"jdbcUrl": f"jdbc:postgresql://db.example.com,127.0.0.1:{port}/db"},
        {"jdbcUrl": f"jdbc:postgresql://db.example.com:{port},127.0.0.1:{port}/db"},
        {"sqlalchemyUrl": f"postgresql://db.example.com:{port}/db?hostaddr=127.0.0.1"},
        {"sqlalchemyUrl": "postgresql://db.example.com/db?hostaddr=169.254.169.254"},
        {"sqlalchemyUrl": f"postgresql://db.example.com/db?host=127.0.0.1&port={port}"},
        {"sqlalchemyUrl": f"postgresql://db.example.com/db?host={folder}"},
        {"sqlalchemyUrl": f"mysql://db.example.com/db?unix_socket={mysql_socket}"},
        {"sqlalchemyUrl": f"mariadb://db.example.com/db?unix_socket={mysql_socket}"},
        {"jdbcUrl": f"jdbc:mysql://db.example.com/db?unix_socket={mysql_socket}"},
        {"jdbcUrl": f"jdbc:mysql://address=(host=127.0.0.1)(port={port})/db"},
    ]


@pytest.mark.parametrize("org", ORGS)
def test_redirecting_data_stores_are_refused_at_submit(
    strict: StrictServer, listeners: Listeners, org: str
) -> None:
    for params in jdbc_attacks(listeners):
        with strict.http(org) as client:
            response = client.post(
                "externalDataStores/",
                json={"type": "jdbc", "canonicalName": "attack", "params": params},
            )
        assert response.status_code == 422, (params, response.text)
        (key,) = params
        assert key in response.json()["errors"]["params"], response.text
    assert listeners.arrived() == []


def _stored_data_store(strict: StrictServer, org: str, params: dict[str, str]) -> str:
    """A data store holding ``params`` as if stored before the checks tightened: created with
    a harmless address through the API, then rewritten in the store."""
    with strict.http(org) as client:
        response = client.post(
            "externalDataStores/",
            json={
                "type": "jdbc",
                "canonicalName": "stored earlier",
                "params": {"jdbcUrl": "jdbc:postgresql://db.example.com:5432/db"},
            },
        )
    assert response.status_code == 201, response.text
    store_id: str = response.json()["id"]
    engine = strict.store()
    with engine.begin() as connection:
        connection.execute(
            sa.update(DataStore).where(DataStore.id == store_id).values(params=params)
        )
    engine.dispose()
    return store_id


@pytest.mark.parametrize("org", ORGS)
def test_redirecting_data_stores_stored_earlier_fail_their_jobs(
    strict: StrictServer, listeners: Listeners, org: str
) -> None:
    owner = ORGS[0]
    for params in jdbc_attacks(listeners):
        store_id = _stored_data_store(strict, owner, params)
        with strict.http(org) as client:
            response = client.post(
                "batchPredictions/",
                json={
                    "deploymentId": strict.deployments[org],
                    "intakeSettings": {"type": "jdbc", "dataStoreId": store_id, "table": "t"},
                    "outputSettings": {"type": "localFile"},
                },
            )
            if org != owner:  # another organization's data store is unknown
                assert response.status_code in (404, 422), response.text
                assert "db.example.com" not in response.text
                continue
            assert response.status_code == 202, response.text
            job = finished_job(client, response.json()["id"])
        assert (job["status"], job["endReason"]) == ("ABORTED", "failed"), json.dumps(job)
        assert store_id in job["statusDetails"], job["statusDetails"]
    assert listeners.arrived() == []


# --- item 3: a GCS key's token_uri -------------------------------------------------------------


@pytest.mark.parametrize("org", ORGS)
def test_gcp_keys_with_a_foreign_token_uri_are_refused_at_submit(
    strict: StrictServer, listeners: Listeners, org: str
) -> None:
    for uri in (
        f"http://127.0.0.1:{listeners.tcp_port}/token",
        "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token",
        "https://oauth2.googleapis.com.evil.example/token",
    ):
        key = {"type": "service_account", "private_key": "k", "token_uri": uri}
        with strict.http(org) as client:
            response = client.post(
                "credentials/", json={"name": "g", "credentialType": "gcp", "gcpKey": key}
            )
        assert response.status_code == 422, response.text
        assert "token_uri" in response.json()["errors"]["gcpKey"], response.text
        assert "private_key" not in response.text
    assert listeners.arrived() == []


@pytest.mark.parametrize("org", ORGS)
def test_gcp_keys_stored_earlier_with_a_foreign_token_uri_fail_their_jobs(
    strict: StrictServer, listeners: Listeners, org: str
) -> None:
    """A key stored before the check (re-encrypted in the store with the server's own key)
    fails the job before any request; another organization cannot use it at all."""
    from scorecast.config import Settings
    from scorecast.service.secrets import SecretBox
    from scorecast.store.models import Credential

    owner = ORGS[0]
    harmless = service_account_key("https://oauth2.googleapis.com/token")
    with strict.http(owner) as client:
        created = client.post(
            "credentials/", json={"name": "g", "credentialType": "gcp", "gcpKey": harmless}
        )
    assert created.status_code == 201, created.text
    credential_id = created.json()["credentialId"]
    foreign = {**harmless, "token_uri": f"http://127.0.0.1:{listeners.tcp_port}/token"}
    server_settings = Settings(home=strict.process.home, database_url=strict.process.database_url)
    box = SecretBox.from_settings(server_settings)
    engine = strict.store()
    with engine.begin() as connection:
        connection.execute(
            sa.update(Credential)
            .where(Credential.id == credential_id)
            .values(secret=box.encrypt({"gcpKey": foreign}))
        )
    engine.dispose()
    with strict.http(org) as client:
        response = client.post(
            "batchPredictions/",
            json={
                "deploymentId": strict.deployments[org],
                "intakeSettings": {
                    "type": "gcp",
                    "url": "gs://bucket/in.csv",
                    "credentialId": credential_id,
                },
                "outputSettings": {"type": "localFile"},
            },
        )
        if org != owner:  # another organization's credential is unknown
            assert response.status_code in (404, 422), response.text
        else:
            assert response.status_code == 202, response.text
            job = finished_job(client, response.json()["id"])
            assert (job["status"], job["endReason"]) == ("ABORTED", "failed"), json.dumps(job)
            assert "token_uri" in job["statusDetails"], job["statusDetails"]
            assert "PRIVATE KEY" not in json.dumps(job)
    assert listeners.arrived() == []


# --- item 4: the server's own cloud identity ---------------------------------------------------

OPERATOR_KEY = "AKIAOPERATOR0NLY"


@pytest.fixture(scope="module")
def moto_server() -> Iterator[Any]:
    with emulators.moto() as running:
        yield running


@pytest.fixture(scope="module")
def operator_bucket(moto_server: Any) -> str:
    """A private bucket of the operator on moto, holding the demo patients."""
    import boto3

    from scorecast.demo import DATA

    client = boto3.client(
        "s3",
        endpoint_url=moto_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=OPERATOR_KEY,
        aws_secret_access_key="operator-secret",
    )
    client.create_bucket(Bucket="operator-private")
    client.put_object(Bucket="operator-private", Key="patients.csv", Body=DATA.read_bytes())
    return "operator-private"


@pytest.fixture(scope="module")
def ambient(tmp_path_factory: pytest.TempPathFactory, moto_server: Any) -> Iterator[StrictServer]:
    """A server with the operator's AWS keys in its environment, private endpoints allowed
    (moto is on 127.0.0.1), whose own identity only organization ``alpha`` may use, and only
    with moto (the operator names it in ``SCORECAST_AMBIENT_CLOUD_ENDPOINTS``)."""
    home = tmp_path_factory.mktemp("home-ambient")
    url = f"sqlite:///{home / 'scorecast.db'}"
    tokens = {org: _token(home, url, org) for org in ORGS}
    env = {
        "SCORECAST_ALLOW_PRIVATE_ENDPOINTS": "1",
        "SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS": "alpha",
        "SCORECAST_AMBIENT_CLOUD_ENDPOINTS": moto_server.endpoint,
        "AWS_ACCESS_KEY_ID": OPERATOR_KEY,
        "AWS_SECRET_ACCESS_KEY": "operator-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    process = ServeProcess(home, url, "--workers", "2", env=env).start()
    try:
        yield StrictServer(process, tokens)
    finally:
        process.stop()


def test_only_named_organizations_use_the_servers_aws_identity(
    ambient: StrictServer, moto_server: Any, operator_bucket: str
) -> None:
    intake = {
        "type": "s3",
        "url": f"s3://{operator_bucket}/patients.csv",
        "endpointUrl": moto_server.endpoint,
    }
    jobs = {}
    for org in ORGS:
        with ambient.http(org) as client:
            response = client.post(
                "batchPredictions/",
                json={
                    "deploymentId": ambient.deployments[org],
                    "intakeSettings": intake,
                    "outputSettings": {"type": "localFile"},
                },
            )
            assert response.status_code == 202, response.text
            jobs[org] = finished_job(client, response.json()["id"])
    assert jobs["alpha"]["status"] == "COMPLETED", json.dumps(jobs["alpha"])
    assert (jobs["beta"]["status"], jobs["beta"]["endReason"]) == ("ABORTED", "failed"), json.dumps(
        jobs["beta"]
    )
    assert "access denied" in jobs["beta"]["statusDetails"]
    assert OPERATOR_KEY not in json.dumps(jobs)


def test_keyless_s3_credentials_follow_the_same_setting(
    ambient: StrictServer, moto_server: Any, operator_bucket: str
) -> None:
    jobs = {}
    for org in ORGS:
        with ambient.http(org) as client:
            created = client.post(
                "credentials/", json={"name": "instance role", "credentialType": "s3"}
            )
            assert created.status_code == 201, created.text
            intake = {
                "type": "s3",
                "url": f"s3://{operator_bucket}/patients.csv",
                "endpointUrl": moto_server.endpoint,
                "credentialId": created.json()["credentialId"],
            }
            response = client.post(
                "batchPredictions/",
                json={
                    "deploymentId": ambient.deployments[org],
                    "intakeSettings": intake,
                    "outputSettings": {"type": "localFile"},
                },
            )
            assert response.status_code == 202, response.text
            jobs[org] = finished_job(client, response.json()["id"])
    assert jobs["alpha"]["status"] == "COMPLETED", json.dumps(jobs["alpha"])
    assert (jobs["beta"]["status"], jobs["beta"]["endReason"]) == ("ABORTED", "failed"), json.dumps(
        jobs["beta"]
    )
    assert "SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS" in jobs["beta"]["statusDetails"]
    assert OPERATOR_KEY not in json.dumps(jobs)


# --- NAT64 / 6to4 ------------------------------------------------------------------------------

#: 127.0.0.1 and 169.254.169.254 through NAT64, 6to4 and IPv4-compatible addresses
CARRIERS = [
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1",
    "2002:a9fe:a9fe::",
    "::7f00:1",
]


@pytest.mark.parametrize("org", ORGS)
def test_ipv6_carriers_of_private_ipv4_are_refused_at_submit(
    strict: StrictServer, listeners: Listeners, org: str
) -> None:
    port = listeners.tcp_port
    for host in CARRIERS:
        endpoint = f"http://[{host}]:{port}"
        s3 = {"type": "s3", "url": "s3://b/in.csv", "endpointUrl": endpoint}
        azure = {"type": "azure", "url": f"{endpoint}/acct/c/out.csv"}
        local = {"type": "localFile"}
        with strict.http(org) as client:
            for side, intake, output, field in (
                ("intakeSettings", s3, local, "endpointUrl"),
                ("outputSettings", local, azure, "url"),
            ):
                response = client.post(
                    "batchPredictions/",
                    json={
                        "deploymentId": strict.deployments[org],
                        "intakeSettings": intake,
                        "outputSettings": output,
                    },
                )
                assert response.status_code == 422, response.text
                assert field in response.json()["errors"][side], response.text
            store = client.post(
                "externalDataStores/",
                json={
                    "type": "jdbc",
                    "canonicalName": "nat64",
                    "params": {"jdbcUrl": f"jdbc:postgresql://[{host}]:{port}/db"},
                },
            )
            assert store.status_code == 422, store.text
    assert listeners.arrived() == []
