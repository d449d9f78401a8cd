"""Helpers shared by the object-store connectors (s3, azure, gcp): URL parts, credentials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scorecast.connectors.base import ConnectorContext
from scorecast.errors import ConnectorError, ScorecastError


def credential_of(
    config: Mapping[str, Any],
    ctx: ConnectorContext,
    location: str,
    expected_type: str | None = None,
) -> Any:
    """The decrypted fields of ``config['credentialId']``, or None when there is none.

    When the fields carry ``credentialType`` and it is not ``expected_type``, the job fails:
    a credential of the wrong kind must not silently fall back to ambient credentials.
    """
    credential_id = config.get("credentialId")
    if not credential_id:
        return None
    try:
        credential = ctx.credential(str(credential_id))
    except ConnectorError:
        raise
    except ScorecastError as exc:
        raise ConnectorError(f"{location}: credential {credential_id!r}: {exc.message}") from exc
    kind = credential.get("credentialType")
    if expected_type is not None and kind is not None and kind != expected_type:
        raise ConnectorError(
            f"{location}: credential {credential_id!r} is of type {kind!r}, "
            f"this connector needs a {expected_type!r} credential"
        )
    return credential


def field(credential: Mapping[str, Any], *names: str) -> Any:
    """The first present of ``names`` (camelCase as sent, or snake_case as stored)."""
    for name in names:
        value = credential.get(name)
        if value:
            return value
    return None


def shown_url(url: str) -> str:
    """``url`` as messages name it: without query or fragment. Submit refuses both
    (``safety.check_object_url``), but a job stored before may carry a SAS token there."""
    return url.split("?", 1)[0].split("#", 1)[0]


def split_bucket_key(path: str) -> tuple[str, str]:
    """``bucket/key…`` → (bucket, key); either may be empty when missing."""
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key
