"""``s3``: ``s3://bucket/key`` on AWS or any S3-compatible store (``endpointUrl``).

Settings: ``url`` (required), ``credentialId`` (an ``s3`` credential: ``awsAccessKeyId``,
``awsSecretAccessKey``, optional ``awsSessionToken``), ``endpointUrl``, ``format``.

The server's own identity (the standard AWS chain: environment, profiles, instance role) serves
a job without a credential, or with a credential without keys, only when its organization is
named in ``SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS``; otherwise a job without a credential sends
unsigned requests (public buckets only) and a keyless credential fails the job. The server's
identity is never used with an ``endpointUrl`` outside AWS (``ambient_endpoint``: an https
host under ``amazonaws.com``, such as a FIPS or PrivateLink endpoint, or one the operator
names in ``SCORECAST_AMBIENT_CLOUD_ENDPOINTS``): its signature carries
the access key id and session token to that host, so such a job fails naming ``endpointUrl``
before any request.

botocore's HTTP layer follows no redirect, but its S3 region redirector re-sends a request
when an answer names another region (one store made it loop 162 times); it is switched off
(``_no_region_redirects``), so a wrong region is an error naming it.

Intake reads with ranged GETs (``RangedReader``), never downloading the object as a whole.
Output is a multipart upload of parts of ``PART_SIZE`` and more (``PARTS``) completed on
``commit()`` (a single PUT when the whole output fits one part) and aborted by ``abort()``: until
then nothing is visible. The object carries its job's mark as metadata (``commit_marks``), set when
the upload is created, so a retry of a job whose object is committed finds it with one HEAD request.
A retry also aborts the multipart uploads of its key that a dead attempt left open.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

from scorecast.config import Settings, origin
from scorecast.connectors.base import ConnectorContext, Intake, Output, OutputToken
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.cloud import credential_of, field, shown_url, split_bucket_key
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
from scorecast.connectors.safety import (
    UnsafeLocationError,
    check_object_url,
    check_url,
    resolve_host,
)
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.errors import ConnectorError, require_extra

#: Bytes per multipart part (S3's minimum is 5 MiB for all parts but the last).
PART_SIZE = 8 << 20
#: S3 takes at most 10,000 parts an object: parts grow by ``PART_SIZE`` every 1,000, so an
#: output of up to about 430 GiB fits while one part (held in memory) is at most 80 MiB
PARTS = PartLimits(max_parts=10_000, grow_every=1_000)


def validate(config: Mapping[str, Any], side: Side, app_settings: Settings) -> dict[str, Any]:
    checks = Checks(config, ("url", "credentialId", "endpointUrl", "format"))
    url = checks.string("url", required=True)
    checks.string("credentialId")
    checks.file_format()
    if url is not None:
        parts = checks.location("url", check_object_url, url, ("s3",), allow_private=False)
        if parts is not None:
            bucket, key = parts.netloc, parts.path.lstrip("/")
            if not bucket or not key or key.endswith("/"):
                checks.problem("url", "must name an object: s3://bucket/key")
    endpoint = checks.string("endpointUrl")
    if endpoint is not None:
        checks.location(
            "endpointUrl",
            check_url,
            endpoint,
            ("http", "https"),
            allow_private=app_settings.allow_private_endpoints,
        )
    return checks.done()


_SESSION_LOCK = threading.Lock()
_SESSIONS: list[Any] = []


def _shared_session(boto3: Any) -> Any:
    """One boto3 session per process: it loads the service models once (about 0.3 s each).

    Keys of a credential are given to each client, never stored on the session; without them
    the session's standard chain applies.
    """
    with _SESSION_LOCK:
        if not _SESSIONS:
            _SESSIONS.append(boto3.session.Session())
        return _SESSIONS[0]


def _no_region_redirects(request_dict: dict[str, Any], **_: Any) -> None:
    """Runs before botocore's ``S3RegionRedirectorv2`` on every answer and marks the request
    as already redirected, the one state in which that redirector never re-sends it."""
    context = request_dict.setdefault("context", {})
    context.setdefault("s3_redirect", {})["redirected"] = True


def ambient_endpoint(url: object, app_settings: Settings) -> bool:
    """Whether the server's own identity may be sent to the endpoint ``url``: one of AWS's own
    (https and a host under ``amazonaws.com`` or ``amazonaws.com.cn``, such as a FIPS,
    dual-stack or PrivateLink endpoint) or one the operator names in
    ``SCORECAST_AMBIENT_CLOUD_ENDPOINTS``."""
    try:
        parts = urlsplit(str(url))
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if parts.scheme == "https" and host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return True
    return origin(str(url)) in app_settings.ambient_cloud_endpoints


class _S3:
    """A boto3 client for one location, with errors turned into ``ConnectorError``."""

    def __init__(self, config: Mapping[str, Any], ctx: ConnectorContext) -> None:
        boto3 = require_extra("boto3", "s3")
        parts = urlsplit(str(config["url"]))
        self.url = shown_url(str(config["url"]))
        self.bucket, self.key = parts.netloc, parts.path.lstrip("/")
        endpoint = config.get("endpointUrl")
        if endpoint:
            host = urlsplit(str(endpoint))
            try:
                resolve_host(
                    host.hostname, host.port, allow_private=ctx.app_settings.allow_private_endpoints
                )
            except UnsafeLocationError as exc:
                raise ConnectorError(f"{self.url}: endpointUrl {exc}") from exc
        credential = credential_of(config, ctx, self.url, "s3")
        options: dict[str, Any] = {}
        keyed = credential is not None and field(credential, "awsAccessKeyId", "aws_access_key_id")
        if credential is not None and not keyed and not ctx.ambient_identity:
            raise ConnectorError(
                f"{self.url}: the credential has no keys, and this organization may not use the "
                "server's own AWS identity (SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS)"
            )
        if (
            endpoint
            and ctx.ambient_identity
            and not keyed
            and not ambient_endpoint(endpoint, ctx.app_settings)
        ):
            # SigV4 sends the access key id and session token in clear to the endpoint
            raise ConnectorError(
                f"{self.url}: endpointUrl: the server's own AWS identity is used only with "
                "AWS's own endpoints (https, under amazonaws.com) and those in "
                "SCORECAST_AMBIENT_CLOUD_ENDPOINTS; give a credential with keys for this endpoint"
            )
        if credential is None and not ctx.ambient_identity:
            from botocore import UNSIGNED
            from botocore.config import Config

            # anonymous: the server's environment keys and instance role are never used
            options = {"config": Config(signature_version=UNSIGNED)}
        if credential is not None and keyed:
            options = {
                "aws_access_key_id": field(credential, "awsAccessKeyId", "aws_access_key_id"),
                "aws_secret_access_key": field(
                    credential, "awsSecretAccessKey", "aws_secret_access_key"
                ),
                "aws_session_token": field(credential, "awsSessionToken", "aws_session_token"),
            }
        session = _shared_session(boto3)
        with _SESSION_LOCK:  # creating clients from one session is not thread-safe
            self.client = session.client(
                "s3",
                endpoint_url=endpoint or None,
                region_name=session.region_name or "us-east-1",
                **options,
            )
        self.client.meta.events.register_first("needs-retry.s3", _no_region_redirects)

    def failure(self, action: str, exc: BaseException) -> ConnectorError:
        response = getattr(exc, "response", None)
        if isinstance(response, dict) and "Error" in response:
            error = response["Error"]
            code = error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            reason = {
                "NoSuchKey": "the object does not exist",
                "404": "the object does not exist",
                "NoSuchBucket": "the bucket does not exist",
                "AccessDenied": "access denied",
                "403": "access denied",
                "InvalidAccessKeyId": "the access key is not valid",
                "SignatureDoesNotMatch": "the secret key does not match the access key",
            }.get(str(code), str(error.get("Message") or code))
            return ConnectorError(f"{self.url}: {action}: {reason} ({code})")
        return ConnectorError(f"{self.url}: {action}: {describe_client_error(exc)}")

    def call(self, action: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, Key=self.key, **kwargs)
        except Exception as exc:
            raise self.failure(action, exc) from exc


def open_intake(intake: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Intake:
    store = _S3(intake, ctx)

    def open_from(start: int) -> Any:
        body = store.call("reading", "get_object", Range=f"bytes={start}-")["Body"]
        return _FailingAs(body, store)

    def size_of() -> int:
        head = store.call("reading", "head_object")
        refuse_compressed(store.url, head.get("ContentEncoding"))
        return int(head["ContentLength"])

    return ranged_intake(store.url, intake, csv, size_of, open_from=open_from)


class _FailingAs:
    """A streaming body whose errors become ``ConnectorError`` naming the object."""

    def __init__(self, body: Any, store: _S3) -> None:
        self._body = body
        self._store = store

    def read(self, size: int) -> bytes:
        try:
            return cast(bytes, self._body.read(size))
        except Exception as exc:
            raise self._store.failure("reading", exc) from exc

    def close(self) -> None:
        self._body.close()


class S3Output(EncodedOutput):
    def __init__(
        self, store: _S3, fmt: FileFormat, csv: CsvSettings, token: OutputToken | None = None
    ) -> None:
        super().__init__(store.url, fmt, csv)
        self._store = store
        self._token = token
        self._mark = mark_of(token)
        self._opened = datetime.now(UTC)
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._writer: PartWriter | None = None

    def _upload_part(self, data: bytes) -> None:
        if self._upload_id is None:
            created = self._store.call(
                "starting the upload", "create_multipart_upload", Metadata=self._mark
            )
            self._upload_id = str(created["UploadId"])
        number = len(self._parts) + 1
        response = self._store.call(
            "uploading", "upload_part", UploadId=self._upload_id, PartNumber=number, Body=data
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def _open_sink(self) -> BinaryIO:
        self._writer = PartWriter(PART_SIZE, self._upload_part, PARTS, where=self._store.url)
        return cast(BinaryIO, self._writer)

    def _finish(self) -> None:
        assert self._writer is not None
        rest = self._writer.remainder()
        if self._upload_id is None:
            self._store.call("writing", "put_object", Body=rest, Metadata=self._mark)
            return
        if rest:
            self._upload_part(rest)
        self._store.call(
            "completing the upload",
            "complete_multipart_upload",
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def _discard(self) -> None:
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            try:
                self._store.client.abort_multipart_upload(
                    Bucket=self._store.bucket, Key=self._store.key, UploadId=upload_id
                )
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                if code != "NoSuchUpload":  # already gone (a retry's clean-up) is fine
                    raise self._store.failure("aborting the upload", exc) from exc

    def committed_before(self) -> str | None:
        if self._token is None:
            return None
        try:
            head = self._store.client.head_object(Bucket=self._store.bucket, Key=self._store.key)
        except Exception as exc:
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                return None
            raise self._store.failure("reading the object's metadata", exc) from exc
        return committed_by(head.get("Metadata"), self._token, head.get("LastModified"))

    def remove_debris(self) -> None:
        """Abort the open multipart uploads of this key that started before this output was
        opened (a dead attempt's parts; S3 keeps and bills them until aborted). Another job
        writing the same key at the same time would lose its upload too: two jobs racing for one
        key is already a race that only one of them can win."""
        store = self._store
        try:  # every page: a listing answers at most 1000 uploads
            pages = store.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=store.bucket, Prefix=store.key
            )
            uploads = [upload for page in pages for upload in page.get("Uploads", [])]
        except Exception as exc:
            raise store.failure("listing open uploads", exc) from exc
        for upload in uploads:
            started = upload.get("Initiated")
            if upload.get("Key") != store.key or upload.get("UploadId") == self._upload_id:
                continue
            if isinstance(started, datetime) and started < self._opened:
                store.call(
                    "aborting a dead attempt's upload",
                    "abort_multipart_upload",
                    UploadId=upload["UploadId"],
                )


def open_output(output: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Output:
    return S3Output(_S3(output, ctx), file_format(output), csv, ctx.output_token)


__all__ = ["PART_SIZE", "S3Output", "open_intake", "open_output", "split_bucket_key", "validate"]
