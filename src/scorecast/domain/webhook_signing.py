"""Signing webhook deliveries the Standard Webhooks way (pure).

A delivery carries three headers: ``webhook-id`` (unique per message, the same on every retry),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``: ``v1,`` followed
by the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under the channel's secret. A secret
written ``whsec_<base64>`` is base64-decoded to the key, which must be at least
``MIN_KEY_BYTES`` long (``InvalidSecret`` otherwise: never an empty or a guessed key); any other
non-empty secret is used as its UTF-8 bytes. The header may list several space-separated
signatures (e.g. during a key change); a receiver accepts the message when any ``v1`` one
matches and the timestamp is recent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
#: the shortest key a ``whsec_`` secret may decode to (the Standard Webhooks minimum)
MIN_KEY_BYTES = 24
#: how far a receiver lets ``webhook-timestamp`` be from its clock (the spec's suggestion)
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class SignatureMismatch(ValueError):
    """A delivery whose signature or timestamp does not verify; ``str()`` says which."""


class InvalidSecret(ValueError):
    """A secret that gives no usable key; ``str()`` says why, never the secret."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``secret``: the decoded bytes of ``whsec_<base64>``, else its UTF-8;
    InvalidSecret for an empty secret or a ``whsec_`` one that is not base64 of at least
    ``MIN_KEY_BYTES`` bytes."""
    if not secret:
        raise InvalidSecret("the secret is empty")
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode("utf-8")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret(f"the part after {SECRET_PREFIX} is not base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise InvalidSecret(
            f"the part after {SECRET_PREFIX} must decode to at least {MIN_KEY_BYTES} bytes"
        )
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256>`` (InvalidSecret
    when ``secret`` gives no key)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    secret: str | None, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers (no signature when there is no secret)."""
    headers = {"webhook-id": message_id, "webhook-timestamp": str(timestamp)}
    if secret:
        headers["webhook-signature"] = sign(secret, message_id, timestamp, body)
    return headers


def verify(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a received delivery (``headers`` with lower-case names); SignatureMismatch if not.

    ``now`` is the receiver's clock in Unix seconds: a timestamp further than ``tolerance``
    from it is refused (a replayed message).
    """
    message_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    given = headers.get("webhook-signature")
    if not message_id or not stamp or not given:
        raise SignatureMismatch("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureMismatch("webhook-timestamp is not a whole number") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureMismatch("webhook-timestamp is too far from now")
    expected = sign(secret, message_id, timestamp, body)
    for candidate in given.split(" "):
        if candidate.startswith("v1,") and hmac.compare_digest(candidate, expected):
            return
    raise SignatureMismatch("no v1 signature matches")
