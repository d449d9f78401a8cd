"""Connecting to a data store's database while setting it up: ``test/``, ``schemas/``, ``tables/``.

These are the calls of the official client's ``DataStore.test()``, ``schemas()`` and
``tables()``. Each connects the way the ``jdbc`` connector does (``data_store_engine``: the same
address, private-address and DNS checks), to a data store of the caller's organization only.

Who connects is given in the request body, in one of three ways (DataRobot's fields):

- ``credentialId``: a ``basic`` credential of the caller's organization;
- ``credentialData``: ``{"credentialType": "basic", "user": ..., "password": ...}``;
- ``user`` and ``password``: used for this request only.

None of them is stored, echoed or logged; without any, the database is reached without a user
(trust or peer authentication). A database that refuses the connection is the caller's
problem to fix (address, user, password, firewall): a 422 whose message says why.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.errors import InvalidInput, NotFound, UnsupportedFeature
from scorecast.service.caller import Caller
from scorecast.service.data_stores import get_data_store

#: Seconds a connection attempt may take before the call answers that it failed.
CONNECT_TIMEOUT = 15
_BODY_KEYS = {"user", "password", "credentialId", "credentialData", "useKerberos", "schema"}


@dataclass(frozen=True)
class TableInfo:
    """One table or view a data store's database holds."""

    catalog: str | None
    schema: str | None
    name: str
    kind: str  # "TABLE" or "VIEW"


def check_connection(
    session: Session, caller: Caller, settings: Settings, data_store_id: str, body: object
) -> str:
    """Connect to the data store's database and run ``SELECT 1``; the success message."""
    with _connected(session, caller, settings, data_store_id, body) as (connection, _):
        connection.execute(sa.select(sa.literal(1))).scalar_one()
    return "Connection successful"


def list_schemas(
    session: Session, caller: Caller, settings: Settings, data_store_id: str, body: object
) -> tuple[str | None, list[str]]:
    """The database's name (the catalog) and the names of its schemas, sorted."""
    with _connected(session, caller, settings, data_store_id, body) as (connection, catalog):
        return catalog, sorted(sa.inspect(connection).get_schema_names())


def list_tables(
    session: Session, caller: Caller, settings: Settings, data_store_id: str, body: object
) -> tuple[str | None, list[TableInfo]]:
    """The tables and views of ``body["schema"]`` (default: the database's default schema).

    An unknown schema is a 422 naming ``schema``.
    """
    schema = _object(body).get("schema")
    if schema is not None and (not isinstance(schema, str) or not schema.strip()):
        raise InvalidInput.at("schema", "must be a non-empty string")
    with _connected(session, caller, settings, data_store_id, body) as (connection, catalog):
        inspector = sa.inspect(connection)
        if schema is None:
            schema = inspector.default_schema_name
        elif schema not in inspector.get_schema_names():
            raise InvalidInput.at("schema", f"the database has no schema {schema!r}")
        tables = [
            TableInfo(catalog, schema, name, "TABLE")
            for name in inspector.get_table_names(schema=schema)
        ]
        views = [
            TableInfo(catalog, schema, name, "VIEW")
            for name in inspector.get_view_names(schema=schema)
        ]
    return catalog, sorted(tables + views, key=lambda table: (table.name, table.kind))


@contextmanager
def _connected(
    session: Session, caller: Caller, settings: Settings, data_store_id: str, body: object
) -> Iterator[tuple[sa.Connection, str | None]]:
    """A connection to the data store's database and its name; InvalidInput when refused."""
    from scorecast.connectors.fileio import describe
    from scorecast.connectors.safety import UnsafeLocationError
    from scorecast.connectors.sql_engine import data_store_engine

    store = get_data_store(session, caller, data_store_id)
    credential = _credential(session, caller, settings, _object(body))
    try:
        engine, where = data_store_engine(
            store.params, credential, settings, connect_timeout=CONNECT_TIMEOUT
        )
    except UnsafeLocationError as exc:
        raise InvalidInput(
            f"data store {data_store_id}: the address {exc}", {"params": {"jdbcUrl": str(exc)}}
        ) from exc
    try:
        try:
            connection = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            cause = describe(getattr(exc, "orig", None) or exc)
            raise InvalidInput(
                f"cannot connect to {where}: {cause}", {"connection": f"failed: {cause}"}
            ) from None
        with connection:
            try:
                yield connection, connection.engine.url.database
            except sa.exc.SQLAlchemyError as exc:
                cause = describe(getattr(exc, "orig", None) or exc)
                raise InvalidInput(
                    f"{where}: the database refused: {cause}", {"connection": cause}
                ) from None
    finally:
        engine.dispose()


def _credential(
    session: Session, caller: Caller, settings: Settings, body: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The user and password to connect with, from the body (see the module docstring)."""
    from scorecast.service.credentials import reveal

    unknown = sorted(set(body) - _BODY_KEYS)
    if unknown:
        raise InvalidInput.at(unknown[0], "is not a field of this call")
    if body.get("useKerberos"):
        raise UnsupportedFeature.at("useKerberos", "Kerberos is not supported by this server")
    given = [key for key in ("credentialId", "credentialData", "user") if body.get(key)]
    if len(given) > 1:
        raise InvalidInput.at(given[1], f"give only one of {', '.join(given)}")
    if body.get("credentialId"):
        credential_id = body["credentialId"]
        if not isinstance(credential_id, str):
            raise InvalidInput.at("credentialId", "must be a string")
        try:
            fields = reveal(session, caller.org_id, credential_id, settings)
        except NotFound as exc:
            raise NotFound(exc.message, {"credentialId": "not found"}) from None
        return _basic(fields, "credentialId")
    if body.get("credentialData") is not None:
        data = body["credentialData"]
        if not isinstance(data, Mapping):
            raise InvalidInput.at("credentialData", "must be a JSON object")
        return _basic(data, "credentialData")
    user, password = body.get("user"), body.get("password")
    for key, value in (("user", user), ("password", password)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput.at(key, "must be a string")
    if password and not user:
        raise InvalidInput.at("user", "is required with password")
    return {"user": user, "password": password} if user else None


def _basic(fields: Mapping[str, Any], where: str) -> dict[str, Any]:
    kind = fields.get("credentialType", "basic")
    if kind != "basic":
        raise InvalidInput.at(
            f"{where}.credentialType" if where == "credentialData" else where,
            f"a data store needs a basic credential (user and password), not {kind!r}",
        )
    user = fields.get("user") or fields.get("username")
    if not isinstance(user, str) or not user:
        raise InvalidInput.at(f"{where}.user", "is required (a non-empty string)")
    password = fields.get("password")
    if password is not None and not isinstance(password, str):
        raise InvalidInput.at(f"{where}.password", "must be a string")
    return {"user": user, "password": password}


def _object(body: object) -> Mapping[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise InvalidInput.at("body", "must be a JSON object")
    return body
