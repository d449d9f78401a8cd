"""``SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS`` (issue 14, item 4): which organizations' jobs may
use the server's own cloud identity, and what the others get instead."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from context import make_context
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext
from scorecast.connectors.registry import open_intake
from scorecast.errors import ConnectorError

names = st.text(alphabet=st.characters(blacklist_characters=",", blacklist_categories=["Cs"]))


@settings(deadline=None)  # no timing: the machine may be loaded
@given(named=st.lists(names.map(str.strip).filter(bool), max_size=4), org=names)
def test_only_named_organizations_may_use_the_servers_identity(named: list[str], org: str) -> None:
    env = {"SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS": " , ".join(named)}
    app = Settings.from_env(env)
    assert app.may_use_ambient_identity(org) == (org in named or "*" in named)
    assert not app.may_use_ambient_identity(None) or "*" in named


def test_nobody_by_default_and_everybody_with_a_star() -> None:
    assert not Settings.from_env({}).may_use_ambient_identity("default")
    star = Settings.from_env({"SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS": "*"})
    assert star.may_use_ambient_identity("any") and star.may_use_ambient_identity(None)


def _context(tmp_path: Path, *, ambient: bool) -> ConnectorContext:
    app = Settings(home=tmp_path, database_url="sqlite://")
    ctx = make_context(app, {"keyless": {"credentialType": "s3"}})
    ctx.ambient_identity = ambient
    return ctx


def test_a_keyless_s3_credential_needs_the_servers_identity(tmp_path: Path) -> None:
    pytest.importorskip("boto3")
    adapter = {"type": "s3", "url": "s3://bucket/in.csv", "credentialId": "keyless"}
    with pytest.raises(ConnectorError, match="SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS"):
        open_intake(adapter, _context(tmp_path, ambient=False))
    open_intake(adapter, _context(tmp_path, ambient=True)).close()


def test_without_a_credential_requests_are_anonymous_unless_allowed(tmp_path: Path) -> None:
    pytest.importorskip("boto3")
    from botocore import UNSIGNED

    from scorecast.connectors.s3 import _S3

    adapter = {"type": "s3", "url": "s3://bucket/in.csv"}
    anonymous = _S3(adapter, _context(tmp_path, ambient=False))
    assert anonymous.client.meta.config.signature_version is UNSIGNED
    allowed = _S3(adapter, _context(tmp_path, ambient=True))
    assert allowed.client.meta.config.signature_version is not UNSIGNED


def test_gcs_without_a_credential_ignores_the_servers_default_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Application Default Credentials from GOOGLE_APPLICATION_CREDENTIALS serve only an
    allowed job (building the client sends no request)."""
    pytest.importorskip("google.cloud.storage")
    import json

    from google.auth.credentials import AnonymousCredentials
    from google_keys import service_account_key

    from scorecast.connectors.gcp import _Gcs

    key_file = tmp_path / "server-key.json"
    key_file.write_text(json.dumps(service_account_key("https://oauth2.googleapis.com/token")))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    adapter = {"type": "gcp", "url": "gs://bucket/in.csv"}
    anonymous = _Gcs(adapter, _context(tmp_path, ambient=False))
    assert isinstance(anonymous.client._credentials, AnonymousCredentials)
    allowed = _Gcs(adapter, _context(tmp_path, ambient=True))
    assert not isinstance(allowed.client._credentials, AnonymousCredentials)


class _Recorder(BaseHTTPRequestHandler):
    """A user's own "S3 endpoint": records the Authorization header of every request."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization") or "")
        self.send_response(404)
        self.end_headers()

    do_HEAD = do_GET  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: object) -> None:
        return None


def test_the_servers_identity_is_never_sent_to_a_custom_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An allowed organization's job with an ``endpointUrl`` and no keys fails naming
    endpointUrl before any request: SigV4 would send the server's access key id (and session
    token) to a host the user chose. With a keyed credential the endpoint is fine."""
    pytest.importorskip("boto3")
    from scorecast.connectors import s3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASERVERIDENTITY01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "server-session-token")
    monkeypatch.setattr(s3, "_SESSIONS", [])  # a new worker process: reads the environment
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen = []
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        app = Settings(home=tmp_path, database_url="sqlite://", allow_private_endpoints=True)
        ctx = make_context(
            app,
            {
                "keyless": {"credentialType": "s3"},
                "keyed": {
                    "credentialType": "s3",
                    "awsAccessKeyId": "AKIAUSERKEY",
                    "awsSecretAccessKey": "user-secret",
                },
            },
        )
        ctx.ambient_identity = True
        base = {"type": "s3", "url": "s3://bucket/in.csv", "endpointUrl": endpoint}
        for credential in ({}, {"credentialId": "keyless"}):
            with pytest.raises(ConnectorError, match="endpointUrl") as caught:
                intake = open_intake({**base, **credential}, ctx)
                try:
                    list(intake.chunks(1000))
                finally:
                    intake.close()
            assert "AKIASERVERIDENTITY01" not in caught.value.message
        assert not any("AKIASERVERIDENTITY01" in header for header in _Recorder.seen)
        with pytest.raises(ConnectorError, match="does not exist"):
            intake = open_intake({**base, "credentialId": "keyed"}, ctx)
            try:
                list(intake.chunks(1000))
            finally:
                intake.close()
        assert _Recorder.seen and all("AKIAUSERKEY" in header for header in _Recorder.seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
