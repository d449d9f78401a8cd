"""Notification policies (``notificationPolicies/``): which events go to which channel.

DataRobot's shape: ``name``, ``channelId``, ``eventType`` (one event) or ``eventGroup`` (a
family, ``domain.notification_rules.EVENT_GROUPS``), ``relatedEntityType`` /
``relatedEntityId`` (``batchPredictionJobDefinition`` and a definition id: only that
definition's events; absent: every definition of the organization), ``active`` and
``maximalFrequency`` (an ISO 8601 duration: at most one delivery per period). A channel or
definition of another organization is answered as unknown. Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from scorecast.domain.events import EventType
from scorecast.domain.notification_rules import EVENT_GROUPS, parse_duration
from scorecast.errors import InvalidInput
from scorecast.service.caller import Caller
from scorecast.service.notification_channels import optional_string
from scorecast.store.models import JobDefinition, NotificationChannel, NotificationPolicy
from scorecast.store.org_scope import exists_in_org, in_org, not_found, org_page
from scorecast.store.types import utcnow

DEFINITION_ENTITY = "batchPredictionJobDefinition"
_MAX_NAME = 200
_FIELDS = {
    "name",
    "channelId",
    "eventType",
    "eventGroup",
    "relatedEntityType",
    "relatedEntityId",
    "active",
    "maximalFrequency",
}


def create_policy(session: Session, caller: Caller, body: Mapping[str, Any]) -> NotificationPolicy:
    """Store a policy from a create body (see the module docstring)."""
    body = _object(body)
    now = utcnow()
    policy = NotificationPolicy(
        org_id=caller.org_id,
        name=_name(body.get("name")),
        active=True,
        created_by=caller.user_id,
        created=now,
        updated=now,
    )
    _apply(session, caller, policy, body, creating=True)
    session.add(policy)
    session.flush()
    return policy


def get_policy(session: Session, caller: Caller, policy_id: str) -> NotificationPolicy:
    """One policy of the caller's organization; NotFound otherwise."""
    return in_org(session, NotificationPolicy, caller.org_id, policy_id)


def list_policies(
    session: Session,
    caller: Caller,
    *,
    offset: int,
    limit: int,
    channel_id: str | None = None,
    name_part: str | None = None,
) -> tuple[Sequence[NotificationPolicy], int]:
    """A page of the organization's policies, newest first, and the total count."""
    wanted = []
    if channel_id is not None:
        wanted.append(NotificationPolicy.channel_id == channel_id)
    if name_part and "\x00" in name_part:
        raise InvalidInput.at("namePart", "must not contain a NUL character")
    if name_part:
        wanted.append(func.lower(NotificationPolicy.name).contains(name_part.lower()))
    return org_page(session, NotificationPolicy, caller.org_id, *wanted, offset=offset, limit=limit)


def update_policy(
    session: Session, caller: Caller, policy_id: str, body: Mapping[str, Any]
) -> NotificationPolicy:
    """PATCH: the given fields change; ``eventType`` replaces ``eventGroup`` and back."""
    policy = in_org(session, NotificationPolicy, caller.org_id, policy_id)
    body = _object(body)
    if "name" in body:
        policy.name = _name(body["name"])
    _apply(session, caller, policy, body, creating=False)
    policy.updated = utcnow()
    session.flush()
    return policy


def delete_policy(session: Session, caller: Caller, policy_id: str) -> None:
    """Delete a policy; its deliveries stay in its channel's list."""
    session.delete(in_org(session, NotificationPolicy, caller.org_id, policy_id))
    session.flush()


def _apply(
    session: Session,
    caller: Caller,
    policy: NotificationPolicy,
    body: Mapping[str, Any],
    *,
    creating: bool,
) -> None:
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown fields: {', '.join(unknown)}",
            {key: "is not a field of notification policies" for key in unknown},
        )
    if creating or "channelId" in body:
        channel_id = optional_string("channelId", body.get("channelId"))
        if not channel_id:
            raise InvalidInput.at("channelId", "is required (a notification channel id)")
        policy.channel_id = in_org(session, NotificationChannel, caller.org_id, channel_id).id
    if creating or "eventType" in body or "eventGroup" in body:
        policy.event_type, policy.event_group = _events(body, policy, creating=creating)
    if "relatedEntityType" in body or "relatedEntityId" in body:
        scope = _related(session, caller, body, policy)
        policy.related_entity_type, policy.related_entity_id = scope
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise InvalidInput.at("active", "must be true or false")
        policy.active = body["active"]
    if "maximalFrequency" in body:
        policy.maximal_frequency = _frequency(body["maximalFrequency"])
        policy.period_start = None


def _events(
    body: Mapping[str, Any], policy: NotificationPolicy, *, creating: bool
) -> tuple[str | None, str | None]:
    event_type = optional_string("eventType", body.get("eventType"))
    event_group = optional_string("eventGroup", body.get("eventGroup"))
    if event_type is not None and event_group is not None:
        raise InvalidInput.at("eventType", "give eventType or eventGroup, not both")
    if event_type is not None:
        if event_type not in {member.value for member in EventType}:
            choices = ", ".join(member.value for member in EventType)
            raise InvalidInput.at("eventType", f"must be one of {choices}")
        return event_type, None
    if event_group is not None:
        if event_group not in EVENT_GROUPS:
            raise InvalidInput.at("eventGroup", f"must be one of {', '.join(EVENT_GROUPS)}")
        return None, event_group
    if creating or (policy.event_type is None and policy.event_group is None):
        raise InvalidInput.at("eventType", "is required (or an eventGroup)")
    return policy.event_type, policy.event_group


def _related(
    session: Session, caller: Caller, body: Mapping[str, Any], policy: NotificationPolicy
) -> tuple[str | None, str | None]:
    """The definition the policy is about, or (None, None) for all of them. A PATCH that names
    only the type keeps the stored definition; the type without any definition is refused (it
    would silently widen the policy to every definition)."""
    entity_type = optional_string("relatedEntityType", body.get("relatedEntityType"))
    if entity_type not in (None, DEFINITION_ENTITY):
        raise InvalidInput.at("relatedEntityType", f"must be {DEFINITION_ENTITY}")
    if "relatedEntityId" in body:
        entity_id = optional_string("relatedEntityId", body["relatedEntityId"])
    else:
        entity_id = policy.related_entity_id if entity_type is not None else None
    if entity_id is None:
        if entity_type is not None:
            raise InvalidInput.at("relatedEntityId", f"is required with {DEFINITION_ENTITY}")
        return None, None
    if not exists_in_org(session, JobDefinition, caller.org_id, entity_id):
        raise not_found(JobDefinition, entity_id, field="relatedEntityId")
    return DEFINITION_ENTITY, entity_id


def _frequency(value: object) -> str | None:
    value = optional_string("maximalFrequency", value)
    if value is None:
        return None
    try:
        parse_duration(value)
    except ValueError as exc:
        raise InvalidInput.at("maximalFrequency", str(exc)) from None
    return value.strip().upper()


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput.at("body", "must be a JSON object")
    return body


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.at("name", "is required (a non-empty string)")
    if len(value) > _MAX_NAME:
        raise InvalidInput.at("name", f"must be at most {_MAX_NAME} characters")
    if "\x00" in value:
        raise InvalidInput.at("name", "must not contain a NUL character")
    return value.strip()
