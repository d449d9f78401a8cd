"""Jobs on Azure Blob (Azurite) and GCS (gcp-storage-emulator) scored on a Dask cluster.

Each task of a real ``distributed.LocalCluster`` of two worker processes reads its CSV byte
range or Parquet row groups from the store and leaves its scored part next to the output, with
the job's credential shipped to it (``ShippedContext``); the job's process writes the parts to
the output in input order and commits it. The output must equal the local executor's byte for
byte, no part may be left in the store, and the credential's secret must be in no log.

The workers are given ``STORAGE_EMULATOR_HOST`` as a server's admin gives it to the server (the
gcp connector's way to an emulator). A missing emulator skips its tests, and fails them under
``CI=true``, as in the connector suite (the same starters: ``tests/connectors/emulators.py``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dask_cluster_jobs import (
    JOB,
    Reference,
    assert_never_logged,
    emulators,
    environment,
    local_cluster,
    make_reference,
    model_description,
    plan,
    run,
)

from scorecast.domain.model_description import ModelDescription
from scorecast.runtime.memory_ledger import MemoryLedger

distributed = pytest.importorskip("distributed")

ROWS = 12_000  # about 350 kB of CSV
CHUNK = 32 << 10  # bytes per part: 11 CSV ranges, 4 Parquet parts of 3 row groups
ROW_GROUP = 1_000
GCP_SECRET = "gcpPrivate" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def cluster(gcs_server: emulators.Running) -> Iterator[Any]:
    # the emulator first: a port chosen for it but left unbound while the cluster and the Azure
    # tests ran could be taken by a server of the other test worker (``-n 2``) meanwhile
    with local_cluster(STORAGE_EMULATOR_HOST=gcs_server.endpoint) as running:
        yield running


@pytest.fixture(scope="module")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulators.Running]:
    with emulators.azurite(tmp_path_factory.mktemp("azurite")) as running:
        yield running


@pytest.fixture(scope="module")
def gcs_server() -> Iterator[emulators.Running]:
    with emulators.gcs() as running:
        yield running


@pytest.fixture(scope="module")
def description() -> ModelDescription:
    return model_description()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, description: ModelDescription) -> Any:
    root = tmp_path_factory.mktemp("dask-cloud-reference")
    return make_reference(root, description, ROWS, chunk=CHUNK)


@pytest.fixture(scope="module")
def parquet(reference: Reference) -> bytes:
    """The reference rows as a Parquet file of ``ROW_GROUP`` rows per row group."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pacsv.read_csv(reference.source), sink, row_group_size=ROW_GROUP)
    return bytes(sink.getvalue().to_pybytes())


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Reference) -> Path:
    root = tmp_path / "files"
    root.mkdir()
    environment(monkeypatch, tmp_path / "home", root, reference.source.parent)
    return root


@dataclass(frozen=True)
class Store:
    """A fresh container (bucket) on an emulator, and the job's credential for it."""

    kind: str
    url: Callable[[str], str]
    settings: dict[str, str]
    credentials: dict[str, dict[str, Any]]
    #: the credential's secret part, which no log may show
    secret: str
    put: Callable[[str, bytes], None]
    get: Callable[[str], bytes]
    names: Callable[[], list[str]]


def _azure(server: emulators.Running) -> Store:
    from azure.storage.blob import BlobServiceClient

    connection = emulators.azurite_connection_string(server.port)
    name = f"dask-{secrets.token_hex(4)}"
    container = BlobServiceClient.from_connection_string(connection).create_container(name)
    base = f"{server.endpoint}/{emulators.AZURITE_ACCOUNT}/{name}"
    return Store(
        kind="azure",
        url=lambda blob: f"{base}/{blob}",
        settings={"credentialId": "az1"},
        credentials={"az1": {"azureConnectionString": connection}},
        secret=emulators.AZURITE_KEY,
        put=container.upload_blob,
        get=lambda blob: bytes(container.download_blob(blob).readall()),
        names=lambda: [str(blob.name) for blob in container.list_blobs()],
    )


def _gcs(server: emulators.Running, monkeypatch: pytest.MonkeyPatch) -> Store:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.endpoint)  # the job's process
    client = storage.Client(
        project="dask",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": server.endpoint},
    )
    bucket = client.create_bucket(f"dask-{secrets.token_hex(4)}")
    key = {
        "type": "service_account",
        "project_id": "dask",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{GCP_SECRET}\n-----END PRIVATE KEY-----\n",
        "client_email": "scorer@dask.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return Store(
        kind="gcp",
        url=lambda name: f"gs://{bucket.name}/{name}",
        settings={"credentialId": "gc1"},
        credentials={"gc1": {"gcpKey": key}},
        secret=GCP_SECRET,
        put=lambda name, data: bucket.blob(name).upload_from_string(data),
        get=lambda name: bytes(bucket.blob(name).download_as_bytes()),
        names=lambda: [str(blob.name) for blob in client.list_blobs(bucket)],
    )


@pytest.fixture(params=["azure", "gcp"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Store:
    if request.param == "azure":
        return _azure(request.getfixturevalue("azurite_server"))
    return _gcs(request.getfixturevalue("gcs_server"), monkeypatch)


@pytest.fixture(params=["csv", "parquet"])
def intake(request: pytest.FixtureRequest, store: Store, reference: Reference) -> dict[str, str]:
    """The reference rows uploaded to ``store`` as a CSV, or as a Parquet file; its settings."""
    fmt = request.param
    data = reference.source.read_bytes() if fmt == "csv" else request.getfixturevalue("parquet")
    store.put(f"in/rows.{fmt}", data)
    return {"type": store.kind, "url": store.url(f"in/rows.{fmt}"), "format": fmt, **store.settings}


@pytest.mark.usefixtures("files")
def test_a_cloud_job_scored_on_the_cluster_equals_the_local_executors_output(
    cluster: Any,
    description: ModelDescription,
    reference: Reference,
    store: Store,
    intake: dict[str, str],
) -> None:
    output = {"type": store.kind, "url": store.url("out/scored.csv"), **store.settings}
    store.put(f"out/scored.csv.scorecast-{JOB}.0.dask-000003.part", b"a dead attempt's part")
    ledger = MemoryLedger(
        plan(description, intake, output, chunk=CHUNK), credentials=store.credentials
    )

    run(ledger, cluster.scheduler_address)

    assert ledger.failed == []
    [parts] = [
        int(found[1])
        for line in ledger.logs
        if (found := re.search(r"on the Dask cluster at \S+: (\d+) parts", line))
    ]
    assert parts >= 4, ledger.logs
    assert store.get("out/scored.csv") == reference.expected
    source = intake["url"].rsplit("/", 2)
    # no part is left, the dead attempt's neither
    assert sorted(store.names()) == ["/".join(source[-2:]), "out/scored.csv"]
    [(_, progress)] = ledger.finished
    assert progress.scored_rows == ROWS and progress.failed_rows == 0
    assert_never_logged(cluster.scheduler_address, store.secret, ledger)


@pytest.mark.usefixtures("files")
def test_a_job_reading_one_store_and_writing_another_ships_both_credentials(
    *,
    cluster: Any,
    description: ModelDescription,
    reference: Reference,
    azurite_server: emulators.Running,
    gcs_server: emulators.Running,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Azure in, GCS out: each task reads with one credential and leaves its part with the
    other; the output equals the local executor's and neither secret is logged."""
    source, target = _azure(azurite_server), _gcs(gcs_server, monkeypatch)
    source.put("in/rows.csv", reference.source.read_bytes())
    intake = {"type": source.kind, "url": source.url("in/rows.csv"), **source.settings}
    output = {"type": target.kind, "url": target.url("out/scored.csv"), **target.settings}
    ledger = MemoryLedger(
        plan(description, intake, output, chunk=CHUNK),
        credentials={**source.credentials, **target.credentials},
    )

    run(ledger, cluster.scheduler_address)

    assert ledger.failed == []
    assert any("on the Dask cluster at" in line for line in ledger.logs), ledger.logs
    assert target.get("out/scored.csv") == reference.expected
    assert target.names() == ["out/scored.csv"]
    assert source.names() == ["in/rows.csv"]
    for secret in (source.secret, target.secret):
        assert_never_logged(cluster.scheduler_address, secret, ledger)
