"""``gcp``: objects in Google Cloud Storage, ``gs://bucket/object`` or
``https://storage.googleapis.com/bucket/object``.

``credentialId`` names a ``gcp`` credential whose ``gcpKey`` is a service-account key (the
JSON object, or its text). Without a credential the client is anonymous (public buckets), unless
the job's organization is named in ``SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS``: then the server's
Application Default Credentials are used when present.

Endpoint: like Google's own libraries, the server honours ``STORAGE_EMULATOR_HOST``
(e.g. ``http://127.0.0.1:9023``) set by the admin in the server's environment; requests then go
to that endpoint with anonymous credentials (fake-gcs-server, gcp-storage-emulator).

Intake reads byte ranges. Output is a resumable upload session: parts of ``PART_SIZE`` bytes
(a multiple of 256 KiB) are sent as they fill, and the object is created only by the last
request, sent on ``commit()``; ``abort()`` cancels the session (an unfinished session is never
visible and expires after a week). The session is created with the job's mark as object
metadata (``commit_marks``), so a retry of a job whose object is committed finds it with one
metadata request.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from typing import Any, BinaryIO, cast
from urllib.parse import unquote, urlsplit

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake, Output, OutputToken
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.cloud import credential_of, field, shown_url, split_bucket_key
from scorecast.connectors.commit_marks import committed_by, mark_of
from scorecast.connectors.fileio import (
    EncodedOutput,
    PartWriter,
    describe_client_error,
    file_format,
    ranged_intake,
    refuse_compressed,
)
from scorecast.connectors.safety import (
    UnsafeLocationError,
    check_google_token_uri,
    check_object_url,
)
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.errors import ConnectorError, require_extra

PART_SIZE = 32 * 256 * 1024  # 8 MiB
_PUBLIC_HOST = "storage.googleapis.com"


def parse_gcs_url(url: str) -> tuple[str, str]:
    """(bucket, object name) of a ``gs://`` or ``https://storage.googleapis.com/`` URL."""
    parts = urlsplit(url)
    if parts.scheme == "gs":
        return parts.netloc, unquote(parts.path.lstrip("/"))
    return split_bucket_key(unquote(parts.path))


def validate(config: Mapping[str, Any], side: Side, app_settings: Settings) -> dict[str, Any]:
    checks = Checks(config, ("url", "credentialId", "format"))
    url = checks.string("url", required=True)
    checks.string("credentialId")
    checks.file_format()
    if url is not None:
        parts = checks.location("url", check_object_url, url, ("gs", "https"), allow_private=False)
        if parts is not None:
            if parts.scheme == "https" and (parts.hostname != _PUBLIC_HOST or parts.port):
                checks.problem("url", f"an https URL must be on {_PUBLIC_HOST} (no port)")
            bucket, name = parse_gcs_url(url)
            if not bucket or not name or name.endswith("/"):
                checks.problem("url", "must name an object: gs://bucket/object")
    return checks.done()


_REASONS = {
    404: "the bucket or object does not exist",
    403: "access denied",
    401: "authentication failed",
}


def gcs_failure(url: str, action: str, exc: BaseException) -> ConnectorError:
    """The job's message for a failed GCS call, never quoting a response body.

    A token endpoint's or the store's answer is the remote side's text, so it is reduced to
    a fixed reason (and the HTTP status); any other error to its type and host
    (``describe_client_error``: a connection error's text quotes the resumable session's URL).
    """
    code = getattr(exc, "code", None)
    if not isinstance(code, int) or isinstance(code, bool):
        code = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        reason = _REASONS.get(code, "the store refused the request")
        return ConnectorError(f"{url}: {action}: {reason} (HTTP {code})")
    if type(exc).__module__.startswith(("google.auth", "google.oauth2")):
        return ConnectorError(
            f"{url}: {action}: authentication failed (the service-account key was refused)"
        )
    return ConnectorError(f"{url}: {action}: {describe_client_error(exc)}")


class _Gcs:
    def __init__(self, config: Mapping[str, Any], ctx: ConnectorContext) -> None:
        storage = require_extra("google.cloud.storage", "gcp")
        self.bucket_name, self.name = parse_gcs_url(str(config["url"]))
        self.url = shown_url(str(config["url"]))
        credential = credential_of(config, ctx, self.url, "gcp")
        emulator = os.environ.get("STORAGE_EMULATOR_HOST")
        try:
            if emulator:
                from google.auth.credentials import AnonymousCredentials

                project = "scorecast"
                if credential is not None:
                    project = str(self._key(credential).get("project_id") or project)
                client = storage.Client(
                    project=project,
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                    client_options={"api_endpoint": emulator},
                )
            elif credential is not None:
                from google.oauth2 import service_account

                key = self._key(credential)
                try:
                    check_google_token_uri(key.get("token_uri"))
                except UnsafeLocationError as exc:
                    raise ConnectorError(f"{self.url}: the gcp credential's {exc}") from exc
                creds = service_account.Credentials.from_service_account_info(key)  # type: ignore[no-untyped-call]
                client = storage.Client(project=key.get("project_id"), credentials=creds)
            elif ctx.ambient_identity:
                try:
                    client = storage.Client()
                except Exception:
                    client = storage.Client.create_anonymous_client()
            else:  # never the server's own default credentials
                client = storage.Client.create_anonymous_client()
        except ConnectorError:
            raise
        except Exception as exc:
            raise ConnectorError(
                f"{self.url}: the gcp credential is not a usable service-account key "
                f"({type(exc).__name__})"
            ) from exc
        # requests follows up to 30 redirects to any host; the store is asked, never a third host
        client._http.max_redirects = 0
        self.client = client
        self.blob = client.bucket(self.bucket_name).blob(self.name)

    def _key(self, credential: Mapping[str, Any]) -> dict[str, Any]:
        key = field(credential, "gcpKey", "gcp_key")
        if isinstance(key, str):
            try:
                key = json.loads(key)
            except (ValueError, RecursionError):  # RecursionError: nested too deeply
                key = None
        if not isinstance(key, dict):
            raise ConnectorError(f"{self.url}: the credential has no gcpKey object")
        return key

    def failure(self, action: str, exc: BaseException) -> ConnectorError:
        return gcs_failure(self.url, action, exc)

    def call(self, action: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            raise self.failure(action, exc) from exc


def open_intake(intake: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Intake:
    store = _Gcs(intake, ctx)

    def fetch(start: int, length: int) -> bytes:
        return cast(
            bytes,
            store.call(
                "reading",
                store.blob.download_as_bytes,
                start=start,
                end=start + length - 1,
                checksum=None,
            ),
        )

    def size_of() -> int:
        store.call("reading", store.blob.reload)
        refuse_compressed(store.url, store.blob.content_encoding)
        return int(store.blob.size or 0)

    return ranged_intake(store.url, intake, csv, size_of, fetch=fetch)


class GcsOutput(EncodedOutput):
    def __init__(
        self, store: _Gcs, fmt: FileFormat, csv: CsvSettings, token: OutputToken | None = None
    ) -> None:
        super().__init__(store.url, fmt, csv)
        self._store = store
        self._token = token
        if token is not None:
            store.blob.metadata = mark_of(token)  # sent with the session's creation
        self._session: str | None = None
        self._sent = 0
        self._writer: PartWriter | None = None

    def _put(self, data: bytes, total: int | None) -> Any:
        if self._session is None:
            self._session = self._store.call(
                "starting the upload",
                self._store.blob.create_resumable_upload_session,
                content_type="application/octet-stream",
            )
        end = self._sent + len(data) - 1
        size = "*" if total is None else str(total)
        span = f"bytes {self._sent}-{end}/{size}" if data else f"bytes */{size}"
        response = self._store.call(
            "uploading",
            self._store.client._http.put,
            self._session,
            data=data,
            headers={"Content-Range": span},
        )
        expected = (308,) if total is None else (200, 201)
        if response.status_code not in expected:
            raise ConnectorError(
                f"{self.location}: uploading: the store answered HTTP {response.status_code}"
            )
        self._sent += len(data)
        return response

    def _open_sink(self) -> BinaryIO:
        self._writer = PartWriter(PART_SIZE, lambda part: self._put(part, None))
        return cast(BinaryIO, self._writer)

    def _finish(self) -> None:
        assert self._writer is not None
        rest = self._writer.remainder()
        self._put(rest, self._sent + len(rest))
        self._session = None

    def committed_before(self) -> str | None:
        if self._token is None:
            return None
        store = self._store
        try:
            found = store.client.bucket(store.bucket_name).get_blob(store.name)
        except Exception as exc:
            raise store.failure("reading the object's metadata", exc) from exc
        if found is None:
            return None
        return committed_by(found.metadata, self._token, found.updated)

    def _discard(self) -> None:
        if self._session is None:
            return
        session, self._session = self._session, None
        # GCS answers 499; an emulator may not implement cancelling (the session expires)
        with contextlib.suppress(Exception):
            self._store.client._http.delete(session)


def open_output(output: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Output:
    return GcsOutput(_Gcs(output, ctx), file_format(output), csv, ctx.output_token)
