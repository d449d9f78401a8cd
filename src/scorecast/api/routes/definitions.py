"""``batchPredictionJobDefinitions/``: create, list, read, change (PATCH) and delete definitions.

The official client sends PATCH to ``batchPredictionJobDefinitions/{id}`` *without* the trailing
slash (a redirect would lose the body), so both spellings are routed. POST answers 202 like
DataRobot, with the definition and a ``Location`` header; DELETE answers 204.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep, SettingsDep
from scorecast.api.documented import PAGE_RESPONSE
from scorecast.api.pagination import DEFAULT_LIMIT, page_response
from scorecast.api.serializers import definition_to_wire
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import JsonObject, Limit, Offset
from scorecast.service import definitions
from scorecast.service.caller import Caller
from scorecast.store.models import JobDefinition

router = APIRouter(tags=["Batch prediction job definitions"], route_class=TransactionRoute)

_PATH = "/batchPredictionJobDefinitions/"


def _wire(session: Session, definition: JobDefinition, caller: Caller) -> dict[str, Any]:
    return definition_to_wire(definitions.definition_views(session, [definition], caller=caller)[0])


@router.post(_PATH, status_code=202, name="create_job_definition")
def create_job_definition(
    *,
    body: JsonObject,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    app_settings: SettingsDep,
) -> dict[str, Any]:
    """Store a definition: ``name``? (generated when absent), ``enabled``, ``schedule``?, spec."""
    definition = definitions.create_definition(session, caller, body, app_settings=app_settings)
    url = request.url_for("get_job_definition", definition_id=definition.id)
    response.headers["Location"] = str(url)
    return _wire(session, definition, caller)


@router.get(_PATH, name="list_job_definitions", responses=PAGE_RESPONSE)
def list_job_definitions(
    *,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    search_name: Annotated[str | None, Query(alias="searchName")] = None,
    deployment_id: Annotated[str | None, Query(alias="deploymentId")] = None,
) -> Response:
    """The organization's definitions, newest first; ``limit=0`` means the default page size."""
    limit = limit or DEFAULT_LIMIT
    page, total = definitions.list_definitions(
        session,
        caller,
        search_name=search_name,
        deployment_id=deployment_id,
        offset=offset,
        limit=limit,
    )
    data = [
        definition_to_wire(view)
        for view in definitions.definition_views(session, page, caller=caller)
    ]
    return page_response(request, data, total=total, offset=offset, limit=limit)


@router.get(_PATH + "{definition_id}/", name="get_job_definition")
def get_job_definition(
    definition_id: str, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    return _wire(session, definitions.get_definition(session, caller, definition_id), caller)


@router.patch(_PATH + "{definition_id}/", name="update_job_definition")
@router.patch(_PATH + "{definition_id}", include_in_schema=False)
def update_job_definition(
    *,
    definition_id: str,
    body: JsonObject,
    session: SessionDep,
    caller: CallerDep,
    app_settings: SettingsDep,
) -> dict[str, Any]:
    """A top-level partial merge: keys sent replace the stored ones (adapter settings whole)."""
    definition = definitions.update_definition(
        session, caller, definition_id, body, app_settings=app_settings
    )
    return _wire(session, definition, caller)


@router.delete(_PATH + "{definition_id}/", status_code=204, name="delete_job_definition")
def delete_job_definition(definition_id: str, session: SessionDep, caller: CallerDep) -> Response:
    """Delete a definition: no more scheduled runs; a job it already started finishes."""
    definitions.delete_definition(session, caller, definition_id)
    return Response(status_code=204)
