"""``credentials/``: create, list, get, PATCH, DELETE. Secrets are accepted, never returned."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep, SettingsDep
from scorecast.api.documented import PAGE_RESPONSE
from scorecast.api.pagination import DEFAULT_LIMIT, page_envelope
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import JsonObject, Limit, Offset, format_datetime
from scorecast.service import credentials
from scorecast.service.secrets import SecretBox
from scorecast.store.models import Credential

router = APIRouter(tags=["Credentials"], route_class=TransactionRoute)


def credential_to_wire(credential: Credential) -> dict[str, Any]:
    """The DataRobot credential object: no secret field, ever."""
    return {
        "credentialId": credential.id,
        "name": credential.name,
        "credentialType": credential.credential_type,
        "description": credential.description or "",
        "creationDate": format_datetime(credential.created),
        "updateDate": format_datetime(credential.updated),
    }


@router.post("/credentials/", status_code=201, name="create_credential")
def create_credential(
    body: JsonObject, session: SessionDep, caller: CallerDep, settings: SettingsDep
) -> dict[str, Any]:
    """Store a basic, s3, azure or gcp credential; the answer never contains the secret."""
    box = SecretBox.from_settings(settings)
    return credential_to_wire(credentials.create_credential(session, caller, box, body))


@router.get("/credentials/", name="list_credentials", responses=PAGE_RESPONSE)
def list_credentials(
    *,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    types: Annotated[
        list[str] | None, Query(description="credential types; repeat or comma-separate")
    ] = None,
    order_by: Annotated[
        str | None, Query(alias="orderBy", description="creationDate or -creationDate")
    ] = None,
) -> dict[str, Any]:
    """The organization's credentials, newest first unless ``orderBy``; ``types`` keeps those
    of the given types (``Credential.list()`` follows ``next``, so paging suits it)."""
    limit = limit or DEFAULT_LIMIT
    page, total = credentials.list_credentials(
        session, caller, offset=offset, limit=limit, types=types or (), order_by=order_by
    )
    data = [credential_to_wire(credential) for credential in page]
    return page_envelope(request, data, total=total, offset=offset, limit=limit)


@router.get("/credentials/{credential_id}/", name="get_credential")
def get_credential(credential_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return credential_to_wire(credentials.get_credential(session, caller, credential_id))


@router.patch("/credentials/{credential_id}/", name="update_credential")
def update_credential(
    credential_id: str,
    body: JsonObject,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Change ``name``, ``description`` or secret fields (merged into the stored ones)."""
    box = SecretBox.from_settings(settings)
    credential = credentials.update_credential(session, caller, box, credential_id, body)
    return credential_to_wire(credential)


@router.delete("/credentials/{credential_id}/", status_code=204, name="delete_credential")
def delete_credential(credential_id: str, session: SessionDep, caller: CallerDep) -> Response:
    credentials.delete_credential(session, caller, credential_id)
    return Response(status_code=204)
