"""Notification channels (``notificationChannels/``): where notifications go.

DataRobot's shape: ``name``, ``channelType`` (``Webhook`` or ``Email`` here; DataRobot's other
types are refused with a 422 naming the field), for webhooks ``payloadUrl``, ``contentType``
(``application/json``), ``customHeaders`` (``[{name, value}]``, at most 100), ``secretToken``
(write-only: stored encrypted like credentials, never returned) and ``validateSsl``; for email
``emailAddress`` (one address, DataRobot's) or ``emailAddresses`` (a list, ours). Custom
header values often carry credentials (``Authorization``), so they are encrypted like the
secret and never returned either: a channel shows its headers' names only; their values are
printable ASCII (what HTTP can carry). A ``secretToken`` written ``whsec_<base64>`` must decode
to a key of at least 24 bytes (``domain.webhook_signing``). Email addresses hold no line break
or other control character (each would break the message's headers). A webhook URL passes
the connectors' private-address checks (``connectors.safety``) unless the operator allows
private endpoints, and names no port 0. Functions flush, never commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.connectors.safety import UnsafeLocationError, check_url
from scorecast.domain.webhook_signing import InvalidSecret, signing_key
from scorecast.errors import InvalidInput, UnsupportedFeature
from scorecast.service.caller import Caller
from scorecast.service.secrets import SecretBox
from scorecast.store.models import NotificationChannel, NotificationPolicy
from scorecast.store.org_scope import in_org, org_page
from scorecast.store.types import utcnow

WEBHOOK = "Webhook"
EMAIL = "Email"
CHANNEL_TYPES = (WEBHOOK, EMAIL)
#: DataRobot's other channel types: valid there, not offered here (a clear 422)
_UNSUPPORTED_TYPES = {
    "Slack",
    "MSTeams",
    "DataRobotUser",
    "DataRobotGroup",
    "DataRobotCustomJob",
    "Database",
    "InApp",
}
JSON_CONTENT = "application/json"
MAX_HEADERS = 100
MAX_ADDRESSES = 100
_MAX_NAME = 200
_MAX_URL = 2000
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
#: a header value HTTP can carry: visible ASCII, spaces and tabs, at most 4000 characters
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]{0,4000}")
#: headers a delivery sets itself
_RESERVED_HEADERS = {"host", "content-type", "content-length", "transfer-encoding", "connection"}
_FIELDS = {
    "name",
    "channelType",
    "payloadUrl",
    "contentType",
    "customHeaders",
    "secretToken",
    "validateSsl",
    "emailAddress",
    "emailAddresses",
    "languageCode",
}


def create_channel(
    session: Session, caller: Caller, settings: Settings, body: Mapping[str, Any]
) -> NotificationChannel:
    """Store a channel from a create body (see the module docstring)."""
    body = _object(body)
    channel_type = _channel_type(body.get("channelType"))
    now = utcnow()
    channel = NotificationChannel(
        org_id=caller.org_id,
        name=_name(body.get("name")),
        channel_type=channel_type,
        created_by=caller.user_id,
        created=now,
        updated=now,
        content_type=JSON_CONTENT,
        validate_ssl=True,
    )
    _apply(channel, settings, body, creating=True)
    session.add(channel)
    session.flush()
    return channel


def get_channel(session: Session, caller: Caller, channel_id: str) -> NotificationChannel:
    """One channel of the caller's organization; NotFound otherwise."""
    return in_org(session, NotificationChannel, caller.org_id, channel_id)


def list_channels(
    session: Session, caller: Caller, *, offset: int, limit: int, name_part: str | None = None
) -> tuple[Sequence[NotificationChannel], int]:
    """A page of the organization's channels, newest first, and the total count."""
    wanted = []
    if name_part and "\x00" in name_part:
        raise InvalidInput.at("namePart", "must not contain a NUL character")
    if name_part:
        wanted.append(func.lower(NotificationChannel.name).contains(name_part.lower()))
    return org_page(
        session, NotificationChannel, caller.org_id, *wanted, offset=offset, limit=limit
    )


def update_channel(
    session: Session,
    caller: Caller,
    settings: Settings,
    channel_id: str,
    body: Mapping[str, Any],
) -> NotificationChannel:
    """PATCH: the given fields change; ``channelType`` cannot (make a new channel)."""
    channel = in_org(session, NotificationChannel, caller.org_id, channel_id)
    body = _object(body)
    if "channelType" in body and body["channelType"] != channel.channel_type:
        optional_string("channelType", body["channelType"])
        raise InvalidInput.at("channelType", "cannot change; create a new channel instead")
    if "name" in body:
        channel.name = _name(body["name"])
    _apply(channel, settings, body, creating=False)
    channel.updated = utcnow()
    session.flush()
    return channel


def delete_channel(session: Session, caller: Caller, channel_id: str) -> None:
    """Delete a channel with its policies and deliveries."""
    session.delete(in_org(session, NotificationChannel, caller.org_id, channel_id))
    session.flush()


def policy_counts(session: Session, channel_ids: Sequence[str]) -> dict[str, int]:
    """How many policies use each of ``channel_ids``."""
    if not channel_ids:
        return {}
    rows = session.execute(
        select(NotificationPolicy.channel_id, func.count())
        .where(NotificationPolicy.channel_id.in_(list(channel_ids)))
        .group_by(NotificationPolicy.channel_id)
    )
    return {channel_id: int(count) for channel_id, count in rows}


def secret_token(channel: NotificationChannel, settings: Settings) -> str | None:
    """The channel's clear secret, for signing deliveries; never send it anywhere else."""
    if channel.secret is None:
        return None
    value = SecretBox.from_settings(settings).decrypt(channel.secret).get("secretToken")
    return value if isinstance(value, str) else None


def custom_header_names(channel: NotificationChannel) -> list[str]:
    """The names of the channel's custom headers (their values are never shown)."""
    return [str(name) for name in (channel.custom_headers or {}).get("names", [])]


def custom_headers(channel: NotificationChannel, settings: Settings) -> list[tuple[str, str]]:
    """The channel's custom headers in clear, for sending; never send them anywhere else."""
    sealed = (channel.custom_headers or {}).get("sealed")
    if not sealed:
        return []
    headers = SecretBox.from_settings(settings).decrypt(str(sealed).encode("ascii"))["headers"]
    return [(str(item["name"]), str(item["value"])) for item in headers]


def _sealed(headers: list[dict[str, str]], settings: Settings) -> dict[str, Any]:
    if not headers:
        return {"names": [], "sealed": None}
    box = SecretBox.from_settings(settings)
    sealed = box.encrypt({"headers": headers}).decode("ascii")
    return {"names": [item["name"] for item in headers], "sealed": sealed}


def email_addresses(channel: NotificationChannel) -> list[str]:
    addresses = (channel.email or {}).get("addresses", [])
    return [str(address) for address in addresses]


def _apply(
    channel: NotificationChannel, settings: Settings, body: Mapping[str, Any], *, creating: bool
) -> None:
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown fields: {', '.join(unknown)}",
            {key: "is not a field of notification channels" for key in unknown},
        )
    if channel.channel_type == WEBHOOK:
        _apply_webhook(channel, settings, body, creating=creating)
    else:
        _apply_email(channel, body, creating=creating)
    if "languageCode" in body:
        channel.language_code = _language(body["languageCode"])


def _apply_webhook(
    channel: NotificationChannel, settings: Settings, body: Mapping[str, Any], *, creating: bool
) -> None:
    for key in ("emailAddress", "emailAddresses"):
        if body.get(key) is not None:
            raise InvalidInput.at(key, "is for Email channels")
    if creating or "payloadUrl" in body:
        channel.payload_url = _payload_url(body.get("payloadUrl"), settings)
    if body.get("contentType") is not None:
        channel.content_type = _content_type(body["contentType"])
    if "customHeaders" in body:
        channel.custom_headers = _sealed(_headers(body["customHeaders"]), settings)
    if "validateSsl" in body:
        if not isinstance(body["validateSsl"], bool):
            raise InvalidInput.at("validateSsl", "must be true or false")
        channel.validate_ssl = body["validateSsl"]
    if "secretToken" in body:
        token = body["secretToken"]
        if token is None or token == "":
            channel.secret = None
        else:
            channel.secret = SecretBox.from_settings(settings).encrypt(
                {"secretToken": _secret_token(token)}
            )


def _apply_email(channel: NotificationChannel, body: Mapping[str, Any], *, creating: bool) -> None:
    # each of these would be stored and ignored: an email has no URL, headers, signature,
    # content type or certificate check of its own
    for key in ("payloadUrl", "customHeaders", "secretToken", "contentType", "validateSsl"):
        if body.get(key) is not None:
            raise InvalidInput.at(key, "is for Webhook channels")
    if "emailAddress" in body or "emailAddresses" in body or creating:
        channel.email = {"addresses": _addresses(body)}


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput.at("body", "must be a JSON object")
    return body


def _channel_type(value: object) -> str:
    value = optional_string("channelType", value)
    if value is None:
        raise InvalidInput.at("channelType", "is required (Webhook or Email)")
    if value in CHANNEL_TYPES:
        return value
    if value in _UNSUPPORTED_TYPES:
        raise UnsupportedFeature(
            f"channelType {value!r} is not supported by this server (supported: Webhook, Email)",
            {"channelType": f"{value!r} is not supported; use Webhook or Email"},
        )
    raise InvalidInput.at("channelType", "must be Webhook or Email")


def optional_string(field: str, value: object) -> str | None:
    """``value`` when it is a string or absent (None); a 422 naming ``field`` otherwise (a
    list or object would also break the set look-ups that follow)."""
    if value is not None and not isinstance(value, str):
        raise InvalidInput.at(field, "must be a string")
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.at("name", "is required (a non-empty string)")
    if len(value) > _MAX_NAME:
        raise InvalidInput.at("name", f"must be at most {_MAX_NAME} characters")
    if "\x00" in value:
        raise InvalidInput.at("name", "must not contain a NUL character")
    return value.strip()


def _payload_url(value: object, settings: Settings) -> str:
    if value is None:
        raise InvalidInput.at("payloadUrl", "is required for Webhook channels")
    if isinstance(value, str) and len(value) > _MAX_URL:
        raise InvalidInput.at("payloadUrl", f"must be at most {_MAX_URL} characters")
    try:
        check_url(value, ("http", "https"), allow_private=settings.allow_private_endpoints)
    except UnsafeLocationError as exc:
        raise InvalidInput.at("payloadUrl", str(exc)) from None
    assert isinstance(value, str)
    if urlsplit(value).port == 0:
        raise InvalidInput.at("payloadUrl", "port 0 cannot be connected to")
    return value


def _secret_token(value: object) -> str:
    if not isinstance(value, str) or len(value) > 1000:
        raise InvalidInput.at("secretToken", "must be a string of at most 1000 characters")
    try:
        signing_key(value)
    except InvalidSecret as exc:
        raise InvalidInput.at("secretToken", str(exc)) from None
    return value


def _content_type(value: object) -> str:
    optional_string("contentType", value)
    if value == JSON_CONTENT:
        return JSON_CONTENT
    if value == "application/x-www-form-urlencoded":
        raise UnsupportedFeature(
            "contentType application/x-www-form-urlencoded is not supported by this server",
            {"contentType": "only application/json is supported"},
        )
    raise InvalidInput.at("contentType", "must be application/json")


def _headers(value: object) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput.at("customHeaders", "must be a list of {name, value} objects")
    if len(value) > MAX_HEADERS:
        raise InvalidInput.at("customHeaders", f"must have at most {MAX_HEADERS} headers")
    headers = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"name", "value"}:
            raise InvalidInput.at("customHeaders", "each header is an object {name, value}")
        name, text = item["name"], item["value"]
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidInput.at("customHeaders", f"{name!r} is not a valid header name")
        lowered = name.lower()
        if lowered in _RESERVED_HEADERS or lowered.startswith("webhook-"):
            raise InvalidInput.at("customHeaders", f"{name} is set by the server")
        if not isinstance(text, str) or not _HEADER_VALUE.fullmatch(text):
            raise InvalidInput.at(
                "customHeaders",
                f"the value of {name} must be printable ASCII (spaces and tabs allowed), "
                "4000 characters at most",
            )
        headers.append({"name": name, "value": text.strip(" \t")})
    return headers


def _addresses(body: Mapping[str, Any]) -> list[str]:
    given: list[object] = []
    if body.get("emailAddress") is not None:
        given.append(body["emailAddress"])
    many = body.get("emailAddresses")
    if many is not None:
        if not isinstance(many, list):
            raise InvalidInput.at("emailAddresses", "must be a list of email addresses")
        given.extend(many)
    if not given:
        raise InvalidInput.at("emailAddress", "is required for Email channels")
    if len(given) > MAX_ADDRESSES:
        raise InvalidInput.at("emailAddresses", f"must have at most {MAX_ADDRESSES} addresses")
    addresses = []
    for address in given:
        field = "emailAddress" if address is body.get("emailAddress") else "emailAddresses"
        if not isinstance(address, str) or not _is_address(address):
            raise InvalidInput.at(field, f"{address!r} is not an email address")
        addresses.append(address.strip(" \t"))
    return list(dict.fromkeys(addresses))


def _is_address(text: str) -> bool:
    # not printable: control characters and every line break str.splitlines knows
    # (\v, \x1c, \x85, U+2028, ...), which the email's To header cannot carry
    stripped = text.strip(" \t")
    if len(text) > 320 or any(ch in stripped for ch in ",;<>\"' ") or not stripped.isprintable():
        return False
    _, parsed = parseaddr(stripped)
    local, at, domain = parsed.rpartition("@")
    return bool(at and local and "." in domain and parsed == stripped)


def _language(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}(-[A-Za-z]{2})?", value):
        raise InvalidInput.at("languageCode", "must be a language code such as en or ja")
    return value
