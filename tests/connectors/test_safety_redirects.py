"""Storage clients never follow a redirect to a host that was not checked (issue 14): a
loopback store answers every request with a redirect to a second loopback listener, which must
see nothing; the S3 client does not loop on region redirects."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from context import make_context

from scorecast.config import Settings
from scorecast.connectors.registry import open_intake
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import ConnectorError

_E2E = str(Path(__file__).resolve().parents[1] / "e2e")
if _E2E not in sys.path:
    sys.path.append(_E2E)

from listeners import Listeners  # noqa: E402  (tests/e2e/listeners.py)


class RedirectingStore:
    """An HTTP server on 127.0.0.1 answering every request with ``status`` and ``headers``."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                owner.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer  # noqa: N815 (http.server names)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[Listeners]:
    with Listeners([]) as running:
        yield running


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, database_url="sqlite://", allow_private_endpoints=True)


def _read(adapter: dict[str, Any], ctx: Any) -> None:
    intake = open_intake(adapter, ctx, CsvSettings())
    try:
        list(intake.chunks(1 << 20))
    finally:
        intake.close()


def test_azure_does_not_follow_a_redirect(tmp_path: Path, elsewhere: Listeners) -> None:
    pytest.importorskip("azure.storage.blob")
    target = f"http://127.0.0.1:{elsewhere.tcp_port}/devstoreaccount1/c/in.csv"
    store = RedirectingStore(307, {"Location": target})
    try:
        adapter = {
            "type": "azure",
            "url": f"http://127.0.0.1:{store.port}/devstoreaccount1/c/in.csv",
        }
        with pytest.raises(ConnectorError):
            _read(adapter, make_context(_settings(tmp_path)))
    finally:
        store.close()
    assert store.requests
    assert elsewhere.arrived() == []


def test_gcs_does_not_follow_a_redirect(
    tmp_path: Path, elsewhere: Listeners, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("google.cloud.storage")
    target = f"http://127.0.0.1:{elsewhere.tcp_port}/storage/v1/b/bucket/o/in.csv"
    store = RedirectingStore(302, {"Location": target})
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{store.port}")
    try:
        with pytest.raises(ConnectorError):
            _read({"type": "gcp", "url": "gs://bucket/in.csv"}, make_context(_settings(tmp_path)))
    finally:
        store.close()
    assert store.requests
    assert elsewhere.arrived() == []


_PERMANENT_REDIRECT = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code>'
    b"<Message>elsewhere</Message><Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint>"
    b"<Bucket>b</Bucket></Error>"
)


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (301, {"x-amz-bucket-region": "eu-west-1"}, _PERMANENT_REDIRECT),
        (301, {}, _PERMANENT_REDIRECT),  # the old client sent 81 requests here
        (307, {"Location": "http://127.0.0.1:1/elsewhere"}, b""),
        (400, {"x-amz-bucket-region": "eu-west-1"}, b""),
    ],
)
def test_s3_does_not_chase_region_redirects(
    tmp_path: Path, status: int, headers: dict[str, str], body: bytes
) -> None:
    pytest.importorskip("boto3")
    store = RedirectingStore(status, {"Content-Type": "application/xml", **headers}, body)
    credentials = {"k": {"awsAccessKeyId": "id", "awsSecretAccessKey": "secret"}}
    adapter = {
        "type": "s3",
        "url": "s3://b/in.csv",
        "credentialId": "k",
        "endpointUrl": f"http://127.0.0.1:{store.port}",
    }
    try:
        with pytest.raises(ConnectorError):
            _read(adapter, make_context(_settings(tmp_path), credentials))
    finally:
        store.close()
    assert store.requests == ["HEAD /b/in.csv"]
