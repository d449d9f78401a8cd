"""Object-store options beyond the contract: URL spellings and access without a credential."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pytest
from backend_factory import make_backend
from backends import AzureBackend, GcsBackend, S3Backend
from test_contract import as_table, sample

from scorecast.config import Settings
from scorecast.connectors.registry import open_intake


def _read(backend: object, adapter: dict[str, object]) -> pa.Table:
    intake = open_intake(adapter, backend.ctx)  # type: ignore[attr-defined]
    try:
        return as_table(list(intake.chunks(1000)))
    finally:
        intake.close()


def test_gcs_https_urls_name_the_same_object(
    request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    backend = make_backend("gcp", request, app_settings)
    assert isinstance(backend, GcsBackend)
    name = backend.new_name("csv")
    backend.put(name, sample(), "csv")
    adapter = {
        "type": "gcp",
        "url": f"https://storage.googleapis.com/contract/data/{name}",
        "credentialId": "gcpcred",
    }
    assert _read(backend, adapter).to_pylist() == sample().to_pylist()


def test_azure_public_container_reads_without_a_credential(
    request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    backend = make_backend("azure", request, app_settings)
    assert isinstance(backend, AzureBackend)
    service = backend.container._get_blob_service_client()  # type: ignore[attr-defined]
    public = service.get_container_client("public")
    if not public.exists():
        public.create_container(public_access="blob")
    public.upload_blob("in.csv", b"a,b\n1,x\n2,y\n", overwrite=True)
    adapter = {"type": "azure", "url": f"{backend.endpoint}/devstoreaccount1/public/in.csv"}
    assert _read(backend, adapter).to_pylist() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]


@pytest.mark.parametrize("ambient", [True, False])
def test_s3_without_a_credential_uses_the_standard_aws_chain_only_when_allowed(
    request: pytest.FixtureRequest, app_settings: Settings, ambient: bool
) -> None:
    """Keys and endpoint from the environment (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL), in a fresh
    process as a server started with them would see them. The keys serve only a job allowed the
    server's own identity; any other job's requests are unsigned, and moto refuses an anonymous
    read of a private bucket."""
    backend = make_backend("s3", request, app_settings)
    assert isinstance(backend, S3Backend)
    name = backend.new_name("csv")
    backend.put(name, sample(5), "csv")
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from scorecast.config import Settings\n"
        "from scorecast.connectors.base import ConnectorContext\n"
        "from scorecast.connectors.registry import open_intake\n"
        "settings = Settings(home=Path('.'), database_url='sqlite://')\n"
        "ctx = ConnectorContext(lambda i: {}, lambda i: {}, lambda i, v: None, settings,\n"
        "                      ambient_identity=sys.argv[2] == 'True')\n"
        "intake = open_intake(json.loads(sys.argv[1]), ctx)\n"
        "try:\n"
        "    print(sum(len(c.data.splitlines()) for c in intake.chunks(1 << 20)))\n"
        "except Exception as exc:\n"
        "    print(exc)\n"
    )
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "chain",
        "AWS_SECRET_ACCESS_KEY": "chain",
        "AWS_ENDPOINT_URL": backend.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    adapter = {"type": "s3", "url": f"s3://contract/data/{name}"}
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(adapter), str(ambient)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    if ambient:
        assert done.stdout.strip() == "5"
    else:
        assert "access denied" in done.stdout, done.stdout
