"""``azure``: blobs in Azure Blob Storage (or an Azure-compatible store such as Azurite).

``url`` is ``https://<account>.blob.core.windows.net/<container>/<blob>``; a URL whose host is
not ``<account>.blob.<suffix>`` is read path-style, ``http(s)://host[:port]/<account>/<container>/<blob>``
(Azurite, Azure Stack). ``credentialId`` names an ``azure`` credential holding
``azureConnectionString``; its account must be the URL's. Without a credential the container
must allow anonymous reads.

Redirects are never followed (``permit_redirects=False``): only the checked endpoint is asked.

Output stages blocks of ``BLOCK_SIZE`` bytes and more (``BLOCKS``) and commits the block list on
``commit()``; uncommitted blocks are invisible and discarded by the service after a week. The commit
sets the job's mark as blob metadata (``commit_marks``), so a retry of a job whose blob is committed
finds it with one properties request.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, cast
from urllib.parse import SplitResult, unquote, urlsplit

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake, Output, OutputToken
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.cloud import credential_of, field, shown_url
from scorecast.connectors.commit_marks import committed_by, mark_of
from scorecast.connectors.fileio import (
    EncodedOutput,
    PartLimits,
    PartWriter,
    describe_client_error,
    file_format,
    ranged_intake,
    refuse_compressed,
)
from scorecast.connectors.safety import UnsafeLocationError, check_object_url, resolve_host
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.errors import ConnectorError, require_extra

BLOCK_SIZE = 8 << 20
#: Azure takes at most 50,000 blocks a blob: blocks grow by ``BLOCK_SIZE`` every 5,000, so an
#: output of up to about 2 TiB fits while one block (held in memory) is at most 80 MiB
BLOCKS = PartLimits(max_parts=50_000, grow_every=5_000)


@dataclass(frozen=True)
class BlobAddress:
    account_url: str
    account: str
    container: str
    blob: str


def parse_blob_url(parts: SplitResult) -> BlobAddress | None:
    """Account, container and blob of a virtual-host or path-style URL; None when incomplete."""
    host = parts.hostname or ""
    segments = [unquote(piece) for piece in parts.path.lstrip("/").split("/")]
    base = f"{parts.scheme}://{parts.netloc}"
    if ".blob." in host:
        account = host.split(".", 1)[0]
    else:
        if not segments:
            return None
        account, segments = segments[0], segments[1:]
        base = f"{base}/{account}"
    if len(segments) < 2 or not account or not segments[0] or not all(segments[1:]):
        return None
    return BlobAddress(base, account, segments[0], "/".join(segments[1:]))


def validate(config: Mapping[str, Any], side: Side, app_settings: Settings) -> dict[str, Any]:
    checks = Checks(config, ("url", "credentialId", "format"))
    url = checks.string("url", required=True)
    checks.string("credentialId")
    checks.file_format()
    if url is not None:
        allow_private = app_settings.allow_private_endpoints
        parts = checks.location(
            "url", check_object_url, url, ("https", "http"), allow_private=allow_private
        )
        if parts is not None and parse_blob_url(parts) is None:
            checks.problem(
                "url",
                "must name a blob: https://<account>.blob.core.windows.net/<container>/<blob>",
            )
    return checks.done()


class _Blob:
    def __init__(self, config: Mapping[str, Any], ctx: ConnectorContext) -> None:
        blob_module = require_extra("azure.storage.blob", "azure")
        parts = urlsplit(str(config["url"]))
        self.url = shown_url(str(config["url"]))
        address = parse_blob_url(parts)
        assert address is not None  # validated
        credential = credential_of(config, ctx, self.url, "azure")
        try:
            if credential is not None:
                connection = field(credential, "azureConnectionString", "azure_connection_string")
                if not connection:
                    raise ConnectorError(f"{self.url}: the credential has no azureConnectionString")
                service = blob_module.BlobServiceClient.from_connection_string(
                    connection, permit_redirects=False
                )
            else:
                service = blob_module.BlobServiceClient(
                    account_url=address.account_url, permit_redirects=False
                )
        except ConnectorError:
            raise
        except Exception as exc:
            # the connection string itself is never part of the message
            raise ConnectorError(
                f"{self.url}: the azure credential is not a valid connection string "
                f"({type(exc).__name__})"
            ) from exc
        if credential is not None and service.account_name != address.account:
            raise ConnectorError(
                f"{self.url}: the credential is for storage account {service.account_name!r}, "
                f"not {address.account!r}"
            )
        endpoint = urlsplit(service.url)
        try:
            resolve_host(
                endpoint.hostname,
                endpoint.port,
                allow_private=ctx.app_settings.allow_private_endpoints,
            )
        except UnsafeLocationError as exc:
            raise ConnectorError(f"{self.url}: blob endpoint {exc}") from exc
        self.blob_name = address.blob
        #: the blob's container (the Dask executor's parts are blobs next to the output's)
        self.container = service.get_container_client(address.container)
        self.client = service.get_blob_client(address.container, address.blob)

    def failure(self, action: str, exc: BaseException) -> ConnectorError:
        code = getattr(exc, "error_code", None)
        name = type(exc).__name__
        if name == "ResourceNotFoundError" or code in ("BlobNotFound", "ContainerNotFound"):
            what = (
                "the container does not exist"
                if code == "ContainerNotFound"
                else ("the blob does not exist")
            )
            return ConnectorError(f"{self.url}: {action}: {what}")
        if name == "ClientAuthenticationError" or code in ("AuthenticationFailed",):
            return ConnectorError(f"{self.url}: {action}: authentication failed")
        if name == "ServiceRequestError":
            return ConnectorError(f"{self.url}: {action}: cannot connect to the blob endpoint")
        cause = f"{code}" if code else describe_client_error(exc)
        return ConnectorError(f"{self.url}: {action}: {cause}")

    def call(self, action: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except Exception as exc:
            raise self.failure(action, exc) from exc


def open_intake(intake: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Intake:
    store = _Blob(intake, ctx)

    def fetch(start: int, length: int) -> bytes:
        downloader = store.call("reading", "download_blob", offset=start, length=length)
        try:
            return cast(bytes, downloader.readall())
        except Exception as exc:
            raise store.failure("reading", exc) from exc

    def size_of() -> int:
        properties = store.call("reading", "get_blob_properties")
        refuse_compressed(store.url, properties.content_settings.content_encoding)
        return int(properties.size)

    return ranged_intake(store.url, intake, csv, size_of, fetch=fetch)


class AzureOutput(EncodedOutput):
    def __init__(
        self, store: _Blob, fmt: FileFormat, csv: CsvSettings, token: OutputToken | None = None
    ) -> None:
        super().__init__(store.url, fmt, csv)
        self._store = store
        self._token = token
        self._mark = mark_of(token) or None
        self._blocks: list[str] = []
        self._writer: PartWriter | None = None
        # distinct per output, so two attempts never commit each other's blocks
        self._prefix = base64.b32encode(__import__("os").urandom(10)).decode()

    def _stage(self, data: bytes) -> None:
        raw = f"{self._prefix}-{len(self._blocks):08d}".encode()
        block_id = base64.b64encode(raw).decode()
        self._store.call("staging a block", "stage_block", block_id, data, length=len(data))
        self._blocks.append(block_id)

    def _open_sink(self) -> BinaryIO:
        self._writer = PartWriter(BLOCK_SIZE, self._stage, BLOCKS, where=self._store.url)
        return cast(BinaryIO, self._writer)

    def _finish(self) -> None:
        assert self._writer is not None
        rest = self._writer.remainder()
        if not rest and not self._blocks:  # an empty output: one Put Blob, no empty block
            self._store.call("writing", "upload_blob", b"", overwrite=True, metadata=self._mark)
            return
        if rest:
            self._stage(rest)
        blob_module = require_extra("azure.storage.blob", "azure")
        blocks = [blob_module.BlobBlock(block_id=block_id) for block_id in self._blocks]
        self._store.call("committing the blocks", "commit_block_list", blocks, metadata=self._mark)

    def _discard(self) -> None:
        # staged blocks are never visible; nothing to delete
        self._blocks.clear()

    def committed_before(self) -> str | None:
        if self._token is None:
            return None
        try:
            properties = self._store.client.get_blob_properties()
        except Exception as exc:
            if type(exc).__name__ == "ResourceNotFoundError":
                return None
            raise self._store.failure("reading the blob's metadata", exc) from exc
        return committed_by(properties.metadata, self._token, properties.last_modified)


def open_output(output: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Output:
    return AzureOutput(_Blob(output, ctx), file_format(output), csv, ctx.output_token)
