"""``notificationPolicies/``: CRUD in DataRobot's shape (``eventType`` or ``eventGroup``,
``channelId``, ``relatedEntityType``/``relatedEntityId``, ``active``, ``maximalFrequency``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep
from scorecast.api.documented import PAGE_RESPONSE
from scorecast.api.pagination import DEFAULT_LIMIT, page_envelope
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import JsonObject, Limit, Offset, format_datetime
from scorecast.service import notification_policies as policies
from scorecast.store.models import NotificationPolicy

router = APIRouter(tags=["Notification policies"], route_class=TransactionRoute)

_PATH = "/notificationPolicies/"
_ONE = "/notificationPolicies/{policy_id}/"


def policy_to_wire(policy: NotificationPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "orgId": policy.org_id,
        "channelId": policy.channel_id,
        "eventType": policy.event_type,
        "eventGroup": policy.event_group,
        "relatedEntityType": policy.related_entity_type,
        "relatedEntityId": policy.related_entity_id,
        "active": policy.active,
        "maximalFrequency": policy.maximal_frequency,
        "createdAt": format_datetime(policy.created),
        "updatedAt": format_datetime(policy.updated),
    }


@router.post(_PATH, status_code=201, name="create_notification_policy")
def create_policy(body: JsonObject, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    """Tie an event type (or group) to a channel, for one definition or all of them."""
    return policy_to_wire(policies.create_policy(session, caller, body))


@router.get(_PATH, name="list_notification_policies", responses=PAGE_RESPONSE)
def list_policies(
    *,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    channel_id: Annotated[str | None, Query(alias="channelId", max_length=24)] = None,
    name_part: Annotated[str | None, Query(alias="namePart", max_length=200)] = None,
) -> dict[str, Any]:
    """The organization's policies, newest first; ``channelId`` and ``namePart`` filter."""
    limit = limit or DEFAULT_LIMIT
    page, total = policies.list_policies(
        session, caller, offset=offset, limit=limit, channel_id=channel_id, name_part=name_part
    )
    data = [policy_to_wire(policy) for policy in page]
    return page_envelope(request, data, total=total, offset=offset, limit=limit)


@router.get(_ONE, name="get_notification_policy")
def get_policy(policy_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return policy_to_wire(policies.get_policy(session, caller, policy_id))


@router.patch(_ONE, name="update_notification_policy")
def update_policy(
    policy_id: str, body: JsonObject, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    return policy_to_wire(policies.update_policy(session, caller, policy_id, body))


@router.delete(_ONE, status_code=204, name="delete_notification_policy")
def delete_policy(policy_id: str, session: SessionDep, caller: CallerDep) -> Response:
    policies.delete_policy(session, caller, policy_id)
    return Response(status_code=204)
