"""External data stores (``externalDataStores/``): where a ``jdbc`` intake or output connects.

A data store holds an address only (``params.jdbcUrl`` such as ``jdbc:postgresql://host/db``, or
``params.sqlalchemyUrl``); the user and password come from a ``basic`` credential named in the
job, so no secret is ever stored in ``params``. Functions flush, never commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.errors import InvalidInput, UnsupportedFeature
from scorecast.service.caller import Caller
from scorecast.store.models import DataStore
from scorecast.store.org_scope import in_org, org_page
from scorecast.store.types import utcnow

SUPPORTED_TYPES = ("jdbc",)
_ADDRESS_KEYS = ("jdbcUrl", "sqlalchemyUrl", "url")
_MAX_NAME = 200
#: a page size no organization's data stores reach (a LIMIT every store takes)
_EVERY_ROW = 2**31 - 1


def create_data_store(
    session: Session, caller: Caller, settings: Settings, body: Mapping[str, Any]
) -> DataStore:
    """Store ``{"type": "jdbc", "canonicalName": ..., "params": {"jdbcUrl": ...}}``."""
    body = _object(body, "body")
    store_type = _type(body.get("type"))
    now = utcnow()
    store = DataStore(
        org_id=caller.org_id,
        type=store_type,
        canonical_name=_name(body.get("canonicalName")),
        params=_params(body.get("params"), settings),
        created_by=caller.user_id,
        created=now,
        updated=now,
    )
    session.add(store)
    session.flush()
    return store


def get_data_store(session: Session, caller: Caller, data_store_id: str) -> DataStore:
    """One data store of the caller's organization; NotFound otherwise."""
    return in_org(session, DataStore, caller.org_id, data_store_id)


def list_data_stores(
    session: Session,
    caller: Caller,
    *,
    offset: int,
    limit: int | None,
    type_filter: str | None = None,
    name: str | None = None,
) -> tuple[Sequence[DataStore], int]:
    """A page of the organization's data stores (newest first) and the total count.

    ``limit`` None: every store from ``offset`` on (``DataStore.list()`` reads one page only).
    ``name``: a part of ``canonicalName``, ignoring case (LIKE's ``%`` and ``_`` are plain
    characters; on SQLite, case is ignored for ASCII letters only)."""
    wanted: list[ColumnElement[bool]] = []
    if type_filter and type_filter != "all":
        wanted.append(DataStore.type == type_filter)
    if name:
        wanted.append(DataStore.canonical_name.icontains(name, autoescape=True))
    return org_page(
        session,
        DataStore,
        caller.org_id,
        *wanted,
        offset=offset,
        limit=_EVERY_ROW if limit is None else limit,
    )


def update_data_store(
    session: Session,
    caller: Caller,
    settings: Settings,
    data_store_id: str,
    body: Mapping[str, Any],
) -> DataStore:
    """PATCH: ``canonicalName``; ``params`` keys are merged into the stored ones, except that
    an address (``jdbcUrl``, ``sqlalchemyUrl`` or ``url``) replaces the stored address."""
    store = get_data_store(session, caller, data_store_id)
    body = _object(body, "body")
    if "canonicalName" in body:
        store.canonical_name = _name(body["canonicalName"])
    if "params" in body:
        changes = _object(body["params"], "params")
        kept = dict(store.params)
        if any(changes.get(key) for key in _ADDRESS_KEYS):
            kept = {k: v for k, v in kept.items() if k not in _ADDRESS_KEYS}
        store.params = _params({**kept, **changes}, settings)
    store.updated = utcnow()
    session.flush()
    return store


def delete_data_store(session: Session, caller: Caller, data_store_id: str) -> None:
    """Delete a data store; jobs still naming it fail when they start, saying so."""
    session.delete(get_data_store(session, caller, data_store_id))
    session.flush()


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput.at(where, "must be a JSON object")
    return value


def _type(value: object) -> str:
    if value is None:
        raise InvalidInput.at("type", "is required")
    if value in SUPPORTED_TYPES:
        return str(value)
    if isinstance(value, str):
        raise UnsupportedFeature(
            f"data store type {value!r} is not supported by this server (supported: jdbc)",
            {"type": f"{value!r} is not supported; use jdbc"},
        )
    raise InvalidInput.at("type", "must be a string")


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.at("canonicalName", "is required (a non-empty string)")
    if len(value) > _MAX_NAME:
        raise InvalidInput.at("canonicalName", f"must be at most {_MAX_NAME} characters")
    return value.strip()


def _params(value: object, settings: Settings) -> dict[str, Any]:
    """Check the address the way the jdbc connector will read it; return the params."""
    from scorecast.connectors.jdbc_url import database_url, secret_like
    from scorecast.connectors.safety import UnsafeLocationError

    params = dict(_object(value, "params"))
    given = [k for k in _ADDRESS_KEYS if params.get(k)]
    if not given:
        raise InvalidInput.at("params.jdbcUrl", "is required (e.g. jdbc:postgresql://host:5432/db)")
    key = given[0]
    if len(given) > 1:  # the connector would read the first and ignore the others
        raise InvalidInput.at(f"params.{given[1]}", f"give one address: params.{key} is given too")
    if not isinstance(params[key], str):
        raise InvalidInput.at(f"params.{key}", "must be a string")
    secret_fields = [
        f"params.{key}" for key in params if secret_like(key) and key not in _ADDRESS_KEYS
    ] + [
        f"params.fields.{index}"
        for index, item in enumerate(params.get("fields") or [])
        if isinstance(item, Mapping) and secret_like(str(item.get("id", item.get("name", ""))))
    ]
    if secret_fields:
        raise InvalidInput.at(
            secret_fields[0], "is not stored in a data store (use a basic credential)"
        )
    _check_finite(params, "params")
    try:
        database_url(params, None, settings)
    except UnsafeLocationError as exc:
        raise InvalidInput.at(f"params.{key}", str(exc)) from exc
    return params


def _check_finite(value: object, where: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise InvalidInput.at(where, "numbers must be finite (no NaN or Infinity)") from None
