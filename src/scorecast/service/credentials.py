"""Stored credentials (``credentials/``): basic, s3, azure and gcp.

The secret fields are kept as a Fernet-encrypted JSON object (see ``service.secrets``) under
their wire names (``user``/``password``, ``awsAccessKeyId``/``awsSecretAccessKey``/
``awsSessionToken``, ``azureConnectionString``, ``gcpKey``). No function here returns them,
except :func:`reveal`, which workers call to open a connector. Functions flush, never commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.errors import InvalidInput, UnsupportedFeature
from scorecast.service.caller import Caller
from scorecast.service.secrets import SecretBox
from scorecast.store.models import Credential
from scorecast.store.org_scope import in_org, oldest_first, org_page
from scorecast.store.types import utcnow

_MAX_NAME = 200


@dataclass(frozen=True)
class CredentialType:
    """The secret fields of one credential type: ``required`` must be present and non-empty."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


CREDENTIAL_TYPES: dict[str, CredentialType] = {
    "basic": CredentialType(required=("user", "password")),
    # no keys at all: "use the server's own AWS identity", which a job may do only when its
    # organization is named in SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS (checked when it runs)
    "s3": CredentialType(
        required=(), optional=("awsAccessKeyId", "awsSecretAccessKey", "awsSessionToken")
    ),
    "azure": CredentialType(required=("azureConnectionString",)),
    "gcp": CredentialType(required=("gcpKey",)),
}

#: DataRobot credential types this build does not store (a clear 422 rather than a silent drop).
_KNOWN_UNSUPPORTED = {
    "oauth",
    "snowflake_key_pair_user_account",
    "databricks_access_token_account",
    "databricks_service_principal_account",
    "azure_service_principal",
    "adls_gen2_oauth",
    "external_oauth_provider",
    "box_jwt",
}
_COMMON = ("name", "credentialType", "description")
#: Secret fields that are keys, tokens or connection strings: printable ASCII by definition, so
#: surrounding whitespace or a control character (a copied line break) can never be valid; sent
#: as an HTTP header it would make every request fail with the value quoted in the error. Not
#: ``basic`` (a password may hold any character) nor ``gcpKey`` (JSON, line breaks are legal).
_TOKEN_FIELDS = frozenset(
    {"awsAccessKeyId", "awsSecretAccessKey", "awsSessionToken", "azureConnectionString"}
)
#: ``orderBy`` of the list: ascending or not (by creation, ties by id)
ORDERINGS: Final = {"creationDate": True, "-creationDate": False}


def create_credential(
    session: Session, caller: Caller, box: SecretBox, body: Mapping[str, Any]
) -> Credential:
    """Store a credential from a DataRobot create body (``name``, ``credentialType``, fields)."""
    body = _object(body)
    credential_type = _type_of(body.get("credentialType"))
    secret = _secret_fields(credential_type, body, partial=False)
    now = utcnow()
    credential = Credential(
        org_id=caller.org_id,
        name=_name(body.get("name")),
        credential_type=credential_type,
        description=_description(body.get("description")),
        secret=box.encrypt(secret),
        created_by=caller.user_id,
        created=now,
        updated=now,
    )
    session.add(credential)
    session.flush()
    return credential


def get_credential(session: Session, caller: Caller, credential_id: str) -> Credential:
    """One credential of the caller's organization; NotFound otherwise."""
    return in_org(session, Credential, caller.org_id, credential_id)


def list_credentials(
    session: Session,
    caller: Caller,
    *,
    offset: int,
    limit: int,
    types: Sequence[str] = (),
    order_by: str | None = None,
) -> tuple[Sequence[Credential], int]:
    """A page of the organization's credentials and the total count.

    ``types``: DataRobot's filter, each value one type or several comma-separated; a DataRobot
    type this server does not store matches none, any other is InvalidInput naming ``types``.
    ``order_by``: one of ``ORDERINGS`` (InvalidInput naming ``orderBy`` otherwise); newest
    first when None.
    """
    wanted = _wanted_types(types)
    if order_by is not None and order_by not in ORDERINGS:
        raise InvalidInput.at("orderBy", f"must be one of {', '.join(ORDERINGS)}")
    conditions = [Credential.credential_type.in_(sorted(wanted))] if wanted else []
    ascending = order_by is not None and ORDERINGS[order_by]
    return org_page(
        session,
        Credential,
        caller.org_id,
        *conditions,
        offset=offset,
        limit=limit,
        order_by=oldest_first(Credential) if ascending else None,
    )


def update_credential(
    session: Session,
    caller: Caller,
    box: SecretBox,
    credential_id: str,
    body: Mapping[str, Any],
) -> Credential:
    """PATCH: ``name``, ``description`` and secret fields change what is given.

    A different ``credentialType`` replaces the secret entirely (its required fields must be
    given); otherwise the given secret fields are merged into the stored ones, and an optional
    one given as ``null`` is removed. The merged secret must hold together as a new one must
    (an s3 credential's two keys, both or neither).
    """
    credential = in_org(session, Credential, caller.org_id, credential_id)
    body = _object(body)
    if "name" in body:
        credential.name = _name(body["name"])
    if "description" in body:
        credential.description = _description(body["description"])
    new_type = body.get("credentialType", credential.credential_type)
    if new_type != credential.credential_type:
        credential_type = _type_of(new_type)
        credential.secret = box.encrypt(_secret_fields(credential_type, body, partial=False))
        credential.credential_type = credential_type
    else:
        changes = _secret_fields(credential.credential_type, body, partial=True)
        removed = _removed_fields(credential.credential_type, body)
        if changes or removed:
            stored = box.decrypt(credential.secret)
            merged = {k: v for k, v in stored.items() if k not in removed} | changes
            if credential.credential_type == "s3":
                _check_s3_keys(merged)
            credential.secret = box.encrypt(merged)
    credential.updated = utcnow()
    session.flush()
    return credential


def delete_credential(session: Session, caller: Caller, credential_id: str) -> None:
    """Delete a credential; jobs that still reference it fail when they start, naming it."""
    session.delete(in_org(session, Credential, caller.org_id, credential_id))
    session.flush()


def reveal(session: Session, org_id: str, credential_id: str, settings: Settings) -> dict[str, Any]:
    """The decrypted secret fields plus ``credentialType`` (for workers opening connectors).

    Only organization ``org_id``'s credentials are visible; NotFound otherwise. Never send
    the result to a client or a log.
    """
    credential = in_org(session, Credential, org_id, credential_id)
    fields = SecretBox.from_settings(settings).decrypt(credential.secret)
    return {"credentialType": credential.credential_type, **fields}


def _wanted_types(values: Sequence[str]) -> set[str]:
    """The credential types of the ``types`` filter (repeated, or comma-separated)."""
    known = set(CREDENTIAL_TYPES) | _KNOWN_UNSUPPORTED
    wanted = {part.strip() for value in values for part in value.split(",")}
    for credential_type in sorted(wanted):
        if credential_type not in known:
            valid = ", ".join(sorted(known))
            raise InvalidInput.at(
                "types", f"unknown credential type {credential_type!r}; one of {valid}"
            )
    return wanted


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput.at("body", "must be a JSON object")
    return body


def _type_of(value: object) -> str:
    if value is None:
        raise InvalidInput.at("credentialType", "is required")
    if not isinstance(value, str) or value not in CREDENTIAL_TYPES:
        supported = ", ".join(sorted(CREDENTIAL_TYPES))
        if isinstance(value, str) and value in _KNOWN_UNSUPPORTED:
            raise UnsupportedFeature(
                f"credentialType {value!r} is not supported by this server (supported: "
                f"{supported})",
                {"credentialType": f"{value!r} is not supported; use one of {supported}"},
            )
        raise InvalidInput.at("credentialType", f"must be one of {supported}")
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.at("name", "is required (a non-empty string)")
    if len(value) > _MAX_NAME:
        raise InvalidInput.at("name", f"must be at most {_MAX_NAME} characters")
    return value.strip()


def _description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput.at("description", "must be a string")
    return value


def _secret_fields(
    credential_type: str, body: Mapping[str, Any], *, partial: bool
) -> dict[str, Any]:
    spec = CREDENTIAL_TYPES[credential_type]
    if credential_type == "s3" and body.get("configId") is not None:
        raise UnsupportedFeature(
            "s3 credentials from a secure configuration (configId) are not supported; "
            "send awsAccessKeyId and awsSecretAccessKey",
            {"configId": "is not supported"},
        )
    unknown = sorted(set(body) - set(spec.fields) - set(_COMMON) - {"configId"})
    if unknown:
        raise InvalidInput(
            f"unknown fields for a {credential_type} credential: {', '.join(unknown)}",
            {key: f"is not a field of {credential_type} credentials" for key in unknown},
        )
    fields: dict[str, Any] = {}
    for key in spec.fields:
        if key not in body or body[key] is None:
            if key in spec.required and not partial:
                raise InvalidInput.at(key, f"is required for {credential_type} credentials")
            continue
        if key == "gcpKey":
            fields[key] = _gcp_key(body[key])
        else:
            fields[key] = _secret_string(key, body[key], token=key in _TOKEN_FIELDS)
    if credential_type == "s3" and not partial:
        _check_s3_keys(fields)
    return fields


def _removed_fields(credential_type: str, body: Mapping[str, Any]) -> set[str]:
    """The secret fields a PATCH sets to ``null``: removed when optional; a required one
    cannot be (a 422 naming it)."""
    spec = CREDENTIAL_TYPES[credential_type]
    removed = {key for key in spec.fields if key in body and body[key] is None}
    for key in sorted(removed & set(spec.required)):
        raise InvalidInput.at(key, f"is required for {credential_type} credentials")
    return removed


def _check_s3_keys(fields: Mapping[str, Any]) -> None:
    """Both keys, or none (the server's own identity); a session token only with keys."""
    pair = ("awsAccessKeyId", "awsSecretAccessKey")
    given = [key for key in pair if key in fields]
    if len(given) == 1:
        missing = next(key for key in pair if key not in fields)
        raise InvalidInput.at(missing, f"is required with {given[0]} (give both keys or neither)")
    if not given and "awsSessionToken" in fields:
        raise InvalidInput.at("awsSessionToken", "needs awsAccessKeyId and awsSecretAccessKey")


def _secret_string(key: str, value: object, *, token: bool) -> str:
    """A non-empty string; a ``token`` field (``_TOKEN_FIELDS``) also printable ASCII without
    surrounding whitespace. The message never quotes the value."""
    if not isinstance(value, str) or not value:
        raise InvalidInput.at(key, "must be a non-empty string")
    if token and (value != value.strip() or not all(" " <= ch <= "~" for ch in value)):
        raise InvalidInput.at(
            key,
            "must not start or end with whitespace or contain control or non-ASCII characters "
            "(a line break copied with the value?)",
        )
    return value


def _gcp_key(value: object) -> dict[str, Any]:
    """A service-account key: a JSON object, or a string holding one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            raise InvalidInput.at(
                "gcpKey", "is not a valid JSON key (a service account key object)"
            ) from None
    if not isinstance(value, dict) or not value:
        raise InvalidInput.at("gcpKey", "must be a JSON object (a service account key)")
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise InvalidInput.at("gcpKey", "numbers must be finite (no NaN or Infinity)") from None
    except RecursionError:
        raise InvalidInput.at("gcpKey", "is nested too deeply for a service account key") from None
    if "token_uri" in value:
        from scorecast.connectors.safety import UnsafeLocationError, check_google_token_uri

        try:
            check_google_token_uri(value["token_uri"])
        except UnsafeLocationError as exc:
            raise InvalidInput.at("gcpKey", str(exc)) from None
    return value
