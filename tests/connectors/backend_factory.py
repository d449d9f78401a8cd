"""``make_backend(name, request, settings)``: the contract suite's ``Backend`` for one type,
on the session's emulators and databases (fixtures of ``conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import emulators
import pytest
from backends import (
    AzureBackend,
    Backend,
    DatasetBackend,
    FileBackend,
    GcsBackend,
    LocalFileBackend,
    S3Backend,
    SqlBackend,
)

from scorecast.config import Settings


def make_backend(name: str, request: pytest.FixtureRequest, settings: Settings) -> Backend:
    if name == "filesystem":
        root: Path = request.getfixturevalue("file_root")
        return FileBackend(name, settings, root=root)
    if name == "s3":
        import boto3

        server: emulators.Running = request.getfixturevalue("moto_server")
        client = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        if "contract" not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
            client.create_bucket(Bucket="contract")
        credentials = {"s3cred": {"awsAccessKeyId": "testing", "awsSecretAccessKey": "testing"}}
        return S3Backend(name, settings, credentials, endpoint=server.endpoint, client=client)
    if name == "azure":
        from azure.storage.blob import BlobServiceClient

        azurite: emulators.Running = request.getfixturevalue("azurite_server")
        connection = emulators.azurite_connection_string(azurite.port)
        service = BlobServiceClient.from_connection_string(connection)
        container = service.get_container_client("contract")
        if not container.exists():
            container.create_container()
        credentials = {"azcred": {"azureConnectionString": connection}}
        return AzureBackend(
            name, settings, credentials, endpoint=azurite.endpoint, container=container
        )
    if name == "gcp":
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        gcs: emulators.Running = request.getfixturevalue("gcs_server")
        client = storage.Client(
            project="test",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": gcs.endpoint},
        )
        bucket = client.bucket("contract")
        if not bucket.exists():
            bucket = client.create_bucket("contract")
        credentials = {"gcpcred": {"gcpKey": {"type": "service_account", "project_id": "test"}}}
        return GcsBackend(name, settings, credentials, bucket=bucket)
    if name in ("jdbc-postgres", "jdbc-mariadb"):
        if name == "jdbc-postgres":
            database = request.getfixturevalue("postgres_database")
            jdbc = f"jdbc:postgresql://127.0.0.1:5432/{database}"
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
            credentials = {"dbcred": {"user": "postgres", "password": ""}}
        else:
            database = request.getfixturevalue("mariadb_database")
            jdbc = f"jdbc:mariadb://127.0.0.1:3306/{database}"
            url = f"mysql+pymysql://root@127.0.0.1:3306/{database}"
            credentials = {"dbcred": {"user": "root", "password": ""}}
        return SqlBackend(
            name, settings, credentials, {"db": {"jdbcUrl": jdbc}}, formats=(None,), url=url
        )
    if name == "dataset":
        return DatasetBackend(name, settings)
    if name == "localFile":
        return LocalFileBackend(name, settings)
    raise AssertionError(name)
