"""A GCS service-account key's ``token_uri`` (issue 14, item 3): only Google's token endpoint
is accepted, so the server never POSTs a signed assertion to an address a user chose, and a
remote answer is never quoted in a job's message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from context import make_context
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.config import Settings
from scorecast.connectors.gcp import gcs_failure
from scorecast.connectors.registry import open_intake
from scorecast.connectors.safety import (
    GOOGLE_TOKEN_URIS,
    UnsafeLocationError,
    check_google_token_uri,
)
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import ConnectorError

sys_path_e2e = str(Path(__file__).resolve().parents[1] / "e2e")
if sys_path_e2e not in __import__("sys").path:
    __import__("sys").path.append(sys_path_e2e)

from google_keys import service_account_key  # noqa: E402
from listeners import Listeners  # noqa: E402  (tests/e2e/listeners.py)

pytest.importorskip("google.cloud.storage")


@pytest.fixture
def listener() -> Iterator[Listeners]:
    with Listeners([]) as running:
        yield running


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/token",
        "https://127.0.0.1:{port}/token",
        "http://[::ffff:127.0.0.1]:{port}/token",
        "http://169.254.169.254/computeMetadata/v1/token",
        "https://oauth2.googleapis.com.evil.example/token",
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_key_with_a_foreign_token_uri_fails_before_any_request(
    tmp_path: Path,
    listener: Listeners,
    monkeypatch: pytest.MonkeyPatch,
    template: str,
    allow_private: bool,
) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    settings = Settings(
        home=tmp_path, database_url="sqlite://", allow_private_endpoints=allow_private
    )
    key = service_account_key(template.format(port=listener.tcp_port))
    ctx = make_context(settings, {"g": {"credentialType": "gcp", "gcpKey": key}})
    adapter = {"type": "gcp", "url": "gs://bucket/in.csv", "credentialId": "g"}
    with pytest.raises(ConnectorError, match="token_uri") as caught:
        intake = open_intake(adapter, ctx, CsvSettings())
        list(intake.chunks(1 << 20))
    assert key["private_key"] not in caught.value.message
    assert listener.arrived() == []


@settings(deadline=None)  # no timing: the machine may be loaded
@given(st.text(max_size=60))
def test_only_googles_token_endpoints_pass(value: str) -> None:
    if value in GOOGLE_TOKEN_URIS:
        check_google_token_uri(value)
        return
    with pytest.raises(UnsafeLocationError):
        check_google_token_uri(value)


def test_googles_endpoints_pass() -> None:
    for uri in GOOGLE_TOKEN_URIS:
        check_google_token_uri(uri)
    for other in (None, 1, "", "https://oauth2.googleapis.com/token/../x"):
        with pytest.raises(UnsafeLocationError):
            check_google_token_uri(other)


def test_a_remote_answer_is_never_quoted() -> None:
    from google.api_core.exceptions import Forbidden, InternalServerError
    from google.auth.exceptions import RefreshError, TransportError

    body = "ami-id instance-id SECRET-FROM-THE-REMOTE-BODY"
    for exc in (
        RefreshError(f"invalid_grant: {body}", {"error": body}),
        TransportError(body),
        Forbidden(body),
        InternalServerError(body),
    ):
        message = gcs_failure("gs://b/o", "reading", exc).message
        assert "SECRET" not in message, message
        assert message.startswith("gs://b/o: reading: ")
    assert "authentication failed" in gcs_failure("u", "reading", RefreshError(body)).message
    assert "(HTTP 403)" in gcs_failure("u", "reading", Forbidden(body)).message
