"""Standard Webhooks signatures: what is signed verifies, anything changed does not."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.domain.webhook_signing import (
    MIN_KEY_BYTES,
    InvalidSecret,
    SignatureMismatch,
    sign,
    signed_headers,
    signing_key,
    verify,
)

secrets_ = st.one_of(
    st.text(min_size=1, max_size=40).filter(lambda text: not text.startswith("whsec_")),
    st.binary(min_size=MIN_KEY_BYTES, max_size=64).map(
        lambda raw: "whsec_" + base64.b64encode(raw).decode()
    ),
)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=40)
stamps = st.integers(min_value=0, max_value=2**40)


@settings(deadline=None)
@given(secret=secrets_, message_id=ids, timestamp=stamps, body=st.binary(max_size=200))
def test_a_signed_message_verifies(
    secret: str, message_id: str, timestamp: int, body: bytes
) -> None:
    headers = signed_headers(secret, message_id, timestamp, body)
    verify(secret, headers, body, now=timestamp)


@settings(deadline=None)
@given(
    secret=secrets_,
    message_id=ids,
    timestamp=stamps,
    body=st.binary(max_size=200),
    other=st.binary(max_size=200),
)
def test_a_changed_body_does_not_verify(
    secret: str, message_id: str, timestamp: int, body: bytes, other: bytes
) -> None:
    headers = signed_headers(secret, message_id, timestamp, body)
    if other != body:
        with pytest.raises(SignatureMismatch):
            verify(secret, headers, other, now=timestamp)


@settings(deadline=None)
@given(secret=secrets_, other=secrets_, body=st.binary(max_size=50))
def test_another_secret_does_not_verify(secret: str, other: str, body: bytes) -> None:
    headers = signed_headers(secret, "msg_1", 1000, body)
    if signing_key(other) != signing_key(secret):
        with pytest.raises(SignatureMismatch):
            verify(other, headers, body, now=1000)


def test_the_signature_is_the_specs_hmac() -> None:
    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"event":"batch_predictions.success"}'
    expected = base64.b64encode(
        hmac.new(key, b"msg_abc.1700000000." + body, hashlib.sha256).digest()
    ).decode()
    assert sign(secret, "msg_abc", 1700000000, body) == f"v1,{expected}"
    # any other secret is its UTF-8 bytes
    plain = hmac.new(b"s3cret", b"msg_abc.1700000000." + body, hashlib.sha256).digest()
    assert sign("s3cret", "msg_abc", 1700000000, body) == "v1," + base64.b64encode(plain).decode()


def test_stale_timestamps_and_missing_headers_are_refused() -> None:
    headers = signed_headers("s", "msg_1", 1000, b"x")
    verify("s", headers, b"x", now=1000 + 300)
    with pytest.raises(SignatureMismatch, match="too far"):
        verify("s", headers, b"x", now=1000 + 301)
    with pytest.raises(SignatureMismatch, match="missing"):
        verify("s", signed_headers(None, "msg_1", 1000, b"x"), b"x", now=1000)


def test_one_of_several_signatures_may_match() -> None:
    headers = signed_headers("new", "msg_1", 1000, b"x")
    headers["webhook-signature"] = "v1,bm90IGl0 " + headers["webhook-signature"]
    verify("new", headers, b"x", now=1000)


@settings(deadline=None)
@given(short=st.binary(max_size=MIN_KEY_BYTES - 1))
def test_a_whsec_secret_never_gives_a_short_or_empty_key(short: bytes) -> None:
    """``whsec_`` with nothing, padding only or a short key after it would sign with a key
    anyone can guess: it is refused, not used."""
    for secret in ("whsec_" + base64.b64encode(short).decode(), "whsec_", "whsec_===="):
        with pytest.raises(InvalidSecret, match=r"at least 24 bytes|not base64"):
            signing_key(secret)


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_" + "é" * 40, ""])
def test_a_secret_that_gives_no_key_is_refused_saying_why(secret: str) -> None:
    with pytest.raises(InvalidSecret) as caught:
        sign(secret, "msg_1", 1000, b"x")
    assert secret[6:] not in str(caught.value) or not secret[6:]
