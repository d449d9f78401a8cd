"""``externalDataStores/``: database addresses for the ``jdbc`` connector (no secrets), and the
calls that connect to one while setting it up (``test/``, ``schemas/``, ``tables/``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep, SettingsDep
from scorecast.api.documented import PAGE_RESPONSE
from scorecast.api.pagination import page_envelope
from scorecast.api.transactions import TransactionRoute, reads_only
from scorecast.api.wire import JsonObject, Limit, Offset, format_datetime
from scorecast.service import data_store_connections, data_stores
from scorecast.store.models import DataStore

router = APIRouter(tags=["Data stores"], route_class=TransactionRoute)
_PATH = "/externalDataStores/"

#: Who connects: ``credentialId``, ``credentialData`` or ``user``/``password`` (never stored).
ConnectBody = Annotated[dict[str, Any] | None, Body()]


def data_store_to_wire(store: DataStore) -> dict[str, Any]:
    """DataRobot's data store object (``creator`` is the creating user's id)."""
    return {
        "id": store.id,
        "type": store.type,
        "canonicalName": store.canonical_name,
        "creator": store.created_by,
        "role": "OWNER",
        "params": dict(store.params),
        "created": format_datetime(store.created),
        "updated": format_datetime(store.updated),
    }


@router.post(_PATH, status_code=201, name="create_data_store")
def create_data_store(
    body: JsonObject, session: SessionDep, caller: CallerDep, settings: SettingsDep
) -> dict[str, Any]:
    """``{"type": "jdbc", "canonicalName": ..., "params": {"jdbcUrl": ...}}``."""
    return data_store_to_wire(data_stores.create_data_store(session, caller, settings, body))


@router.get(_PATH, name="list_data_stores", responses=PAGE_RESPONSE)
def list_data_stores(
    *,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = 0,
    type_filter: Annotated[str | None, Query(alias="type")] = None,
    name: Annotated[str | None, Query(description="a part of canonicalName, any case")] = None,
) -> dict[str, Any]:
    """The organization's data stores, newest first; ``name`` matches a part of
    ``canonicalName``, ignoring case.

    Without ``limit`` (or ``limit=0``) the answer holds every store from ``offset`` on: the
    official client's ``DataStore.list()`` reads the first page only, never ``next``."""
    page, total = data_stores.list_data_stores(
        session, caller, offset=offset, limit=limit or None, type_filter=type_filter, name=name
    )
    data = [data_store_to_wire(store) for store in page]
    # a whole list is one page as long as the rows before it (``previous``: offset 0)
    page_size = limit or max(offset, len(data), 1)
    return page_envelope(request, data, total=total, offset=offset, limit=page_size)


@router.get(_PATH + "{data_store_id}/", name="get_data_store")
def get_data_store(data_store_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return data_store_to_wire(data_stores.get_data_store(session, caller, data_store_id))


@router.patch(_PATH + "{data_store_id}/", name="update_data_store")
def update_data_store(
    data_store_id: str,
    body: JsonObject,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Change ``canonicalName`` and/or ``params`` (merged)."""
    store = data_stores.update_data_store(session, caller, settings, data_store_id, body)
    return data_store_to_wire(store)


@router.delete(_PATH + "{data_store_id}/", status_code=204, name="delete_data_store")
def delete_data_store(data_store_id: str, session: SessionDep, caller: CallerDep) -> Response:
    data_stores.delete_data_store(session, caller, data_store_id)
    return Response(status_code=204)


@router.post(_PATH + "{data_store_id}/test/", name="test_data_store")
@reads_only
def check_data_store_connection(
    data_store_id: str,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    body: ConnectBody = None,
) -> dict[str, Any]:
    """Connect to the database (``DataStore.test``): 200 ``{"message": ...}``, else 422."""
    message = data_store_connections.check_connection(
        session, caller, settings, data_store_id, body
    )
    return {"message": message}


@router.post(_PATH + "{data_store_id}/schemas/", name="list_data_store_schemas")
@reads_only
def list_data_store_schemas(
    data_store_id: str,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    body: ConnectBody = None,
) -> dict[str, Any]:
    """The database's schemas (``DataStore.schemas``); ``catalog`` is the database's name."""
    catalog, schemas = data_store_connections.list_schemas(
        session, caller, settings, data_store_id, body
    )
    return {"catalog": catalog, "catalogs": [catalog] if catalog else [], "schemas": schemas}


@router.post(_PATH + "{data_store_id}/tables/", name="list_data_store_tables")
@reads_only
def list_data_store_tables(
    data_store_id: str,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    body: ConnectBody = None,
) -> dict[str, Any]:
    """Tables and views of ``schema`` (default: the database's default schema)."""
    catalog, tables = data_store_connections.list_tables(
        session, caller, settings, data_store_id, body
    )
    return {
        "catalog": catalog,
        "tables": [
            {"catalog": t.catalog, "schema": t.schema, "name": t.name, "type": t.kind}
            for t in tables
        ],
    }
