"""One ``Backend`` per connector type for the contract suite: settings for a named object and
a way to look at the destination without going through the connector under test."""

from __future__ import annotations

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
from scorecast.connectors.base import ConnectorContext
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
