"""One ``Backend`` per connector type for the contract suite: settings for a named object and
a way to look at the destination without going through the connector under test.

``localFile`` names no location in its settings: its job is its location (the upload is the
job's input, the download its output). Its backend therefore puts the name in the connector
context (``context``), as the worker puts the job id there, and reads back what an output wrote
as a client would: download the result, upload it as another job's input (``readable``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from context import make_context

from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.connectors.base import ConnectorContext, OutputToken
from scorecast.domain.csv_settings import CsvSettings
from scorecast.formats import open_encoder


def encode(table: pa.Table, fmt: str) -> bytes:
    sink = io.BytesIO()
    encoder = open_encoder(fmt, CsvSettings(), sink)  # type: ignore[arg-type]
    for batch in table.to_batches():
        encoder.write(batch)
    encoder.close()
    return sink.getvalue()


@dataclass
class Backend(ABC):
    name: str
    settings: Settings
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    #: file formats that mean something for this type (jdbc: None = rows)
    formats: tuple[str | None, ...] = ("csv", "parquet")
    writes: bool = True

    @property
    def ctx(self) -> ConnectorContext:
        return make_context(self.settings, self.credentials, self.data_stores, self.datasets)

    def context(self, name: str, token: OutputToken | None = None) -> ConnectorContext:
        """The context a job opening ``name`` has (an output's ``token`` when given)."""
        return dataclasses.replace(self.ctx, output_token=token)

    def readable(self, name: str) -> str:
        """The name an intake reads what an output wrote at ``name`` by."""
        return name

    def new_name(self, fmt: str | None) -> str:
        return f"t{uuid.uuid4().hex[:10]}" + (f".{fmt}" if fmt else "")

    @abstractmethod
    def settings_for(self, name: str, fmt: str | None, side: str) -> dict[str, Any]: ...

    @abstractmethod
    def put(self, name: str, table: pa.Table, fmt: str | None) -> None:
        """Store ``table`` at ``name`` directly (bypassing the connector)."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    def leftovers(self) -> list[str]:
        """Anything staged but not committed that the store can list (multipart uploads...)."""
        return []


@dataclass
class FileBackend(Backend):
    root: Path = Path()

    def settings_for(self, name: str, fmt: str | None, side: str) -> dict[str, Any]:
        return {"type": "filesystem", "url": (self.root / name).as_uri(), "format": fmt}

    def put(self, name: str, table: pa.Table, fmt: str | None) -> None:
        (self.root / name).write_bytes(encode(table, fmt or "csv"))

    def exists(self, name: str) -> bool:
        return (self.root / name).exists()

    def leftovers(self) -> list[str]:
        return sorted(path.name for path in self.root.iterdir() if path.name.startswith("."))


@dataclass
class S3Backend(Backend):
    endpoint: str = ""
    bucket: str = "contract"
    client: Any = None

    def settings_for(self, name: str, fmt: str | None, side: str) -> dict[str, Any]:
        return {
            "type": "s3",
            "url": f"s3://{self.bucket}/data/{name}",
            "format": fmt,
            "endpointUrl": self.endpoint,
            "credentialId": "s3cred",
        }

    def put(self, name: str, table: pa.Table, fmt: str | None) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=f"data/{name}", Body=encode(table, fmt or "csv")
        )

    def put_encoded(self, name: str, data: bytes, encoding: str) -> None:
        """``data`` stored as is, with the ``Content-Encoding`` ``encoding``."""
        self.client.put_object(
            Bucket=self.bucket, Key=f"data/{name}", Body=data, ContentEncoding=encoding
        )

    def exists(self, name: str) -> bool:
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"data/{name}")
        return bool(listing.get("Contents"))

    def leftovers(self) -> list[str]:
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        return [upload["Key"] for upload in uploads]


@dataclass
class AzureBackend(Backend):
    endpoint: str = ""
    container: Any = None

    def settings_for(self, name: str, fmt: str | None, side: str) -> dict[str, Any]:
        return {
            "type": "azure",
            "url": f"{self.endpoint}/devstoreaccount1/contract/data/{name}",
            "format": fmt,
            "credentialId": "azcred",
        }

    def put(self, name: str, table: pa.Table, fmt: str | None) -> None:
        self.container.upload_blob(f"data/{name}", encode(table, fmt or "csv"), overwrite=True)

    def put_encoded(self, name: str, data: bytes, encoding: str) -> None:
        from azure.storage.blob import ContentSettings

        settings = ContentSettings(content_encoding=encoding)
        self.container.upload_blob(f"data/{name}", data, overwrite=True, content_settings=settings)

    def exists(self, name: str) -> bool:
        return any(True for _ in self.container.list_blobs(name_starts_with=f"data/{name}"))


@dataclass
class GcsBackend(Backend):
    bucket: Any = None

    def settings_for(self, name: str, fmt: str | None, side: str) -> dict[str, Any]:
        return {
            "type": "gcp",
            "url": f"gs://contract/data/{name}",
            "format": fmt,
            "credentialId": "gcpcred",
        }

    def put(self, name: str, table: pa.Table, fmt: str | None) -> None:
        self.bucket.blob(f"data/{name}").upload_from_string(encode(table, fmt or "csv"))

    def put_encoded(self, name: str, data: bytes, encoding: str) -> None:
        blob = self.bucket.blob(f"data/{name}")
        blob.content_encoding = encoding
        blob.upload_from_string(data)

    def exists(self, name: str) -> bool:
        return any(True for _ in self.bucket.list_blobs(prefix=f"data/{name}"))


@dataclass
class SqlBackend(Backend):
    url: str = ""

    def settings_for(self, name: str, fmt: str | None, side: str) -> dict[str, Any]:
        common = {"type": "jdbc", "dataStoreId": "db", "credentialId": "dbcred", "table": name}
        if side == "intake":
            return {**common, "fetchSize": 7}
        return {**common, "statementType": "insert", "createTableIfNotExists": True}

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url, poolclass=sa.pool.NullPool)

    def put(self, name: str, table: pa.Table, fmt: str | None) -> None:
        engine = self.engine()
        from scorecast.connectors.sql_arrow import sql_type

        columns = [sa.Column(f.name, sql_type(f.type)) for f in table.schema]
        target = sa.Table(name, sa.MetaData(), *columns)
        with engine.begin() as connection:
            target.create(connection)
            if table.num_rows:
                connection.execute(target.insert(), table.to_pylist())
        engine.dispose()

    def exists(self, name: str) -> bool:
        engine = self.engine()
        try:
            return sa.inspect(engine).has_table(name)
        finally:
            engine.dispose()

    def count(self, name: str) -> int:
        engine = self.engine()
        try:
            with engine.connect() as connection:
                table = sa.table(name)
                return int(connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
        finally:
            engine.dispose()


@dataclass
class DatasetBackend(Backend):
    writes: bool = False

    def settings_for(self, name: str, fmt: str | None, side: str) -> dict[str, Any]:
        return {"type": "dataset", "datasetId": name, "datasetVersionId": "v1"}

    def put(self, name: str, table: pa.Table, fmt: str | None) -> None:
        folder = self.settings.datasets_dir / name
        folder.mkdir(parents=True)
        path = folder / f"v1.{fmt or 'csv'}"
        path.write_bytes(encode(table, fmt or "csv"))
        self.datasets[f"{name}/v1"] = f"datasets/{name}/v1.{fmt or 'csv'}"  # the storage key

    def exists(self, name: str) -> bool:
        return f"{name}/v1" in self.datasets


@dataclass
class LocalFileBackend(Backend):
    """Names are job ids; ``put`` uploads, an output's result is downloaded to be read back."""

    formats: tuple[str | None, ...] = ("csv",)
    #: attempts opened so far per job, and every job this backend named
    attempts: dict[str, int] = field(default_factory=dict)

    def new_name(self, fmt: str | None) -> str:
        job = uuid.uuid4().hex[:24]
        self.attempts[job] = 0
        return job

    def settings_for(self, name: str, fmt: str | None, side: str) -> dict[str, Any]:
        return {"type": "localFile"}

    def context(self, name: str, token: OutputToken | None = None) -> ConnectorContext:
        """As the worker gives it: the job id and attempt in the template. The job is the
        location, so another job's token (``job-b``) means another job id."""
        job = name if token is None else self._job_of(name, token.job_id)
        self.attempts[job] = attempt = (
            token.attempt if token is not None else self.attempts.get(job, 0) + 1
        )
        ctx = dataclasses.replace(self.ctx, output_token=token)
        ctx.template = {"job_id": job, "attempt": str(attempt)}
        return ctx

    def _job_of(self, name: str, token_job: str) -> str:
        job = hashlib.sha256(f"{name}/{token_job}".encode()).hexdigest()[:24]
        self.attempts.setdefault(job, 0)
        return job

    def put(self, name: str, table: pa.Table, fmt: str | None) -> None:
        self.upload(name, encode(table, "csv"))

    def upload(self, name: str, data: bytes) -> None:
        upload = localfile_files.begin_streamed_upload(self.settings, name, len(data))
        upload.write(data)
        upload.close()
        localfile_files.end_streamed_upload(self.settings, name)

    def readable(self, name: str) -> str:
        pieces = localfile_files.result_chunks(self.settings, name)
        if pieces is None:
            return name  # nothing committed: an uploaded input, or nothing
        copy = self.new_name("csv")
        self.upload(copy, b"".join(pieces))
        return copy

    def exists(self, name: str) -> bool:
        return localfile_files.committed_result(self.settings, name) is not None

    def leftovers(self) -> list[str]:
        found = []
        for job in self.attempts:
            committed = localfile_files.committed_result(self.settings, job)
            for attempt in localfile_files.attempts_written(self.settings, job):
                if committed is None or attempt != committed.attempt:
                    found.append(f"{job}/attempt-{attempt}")
        return sorted(found)
