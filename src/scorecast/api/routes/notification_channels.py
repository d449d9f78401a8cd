"""``notificationChannels/``: CRUD in DataRobot's shape, plus (ours) a channel's deliveries and
a test delivery. ``secretToken`` and the values of ``customHeaders`` are accepted, never
returned (``hasSecretToken`` says whether a secret is set; headers show their names)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep, SettingsDep
from scorecast.api.documented import PAGE_RESPONSE
from scorecast.api.pagination import DEFAULT_LIMIT, page_envelope
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import JsonObject, Limit, Offset, format_datetime
from scorecast.service import notification_channels as channels
from scorecast.service import notification_deliveries as deliveries
from scorecast.store.models import NotificationAttempt, NotificationChannel, NotificationDelivery

router = APIRouter(tags=["Notification channels"], route_class=TransactionRoute)

_PATH = "/notificationChannels/"
_ONE = "/notificationChannels/{channel_id}/"


def channel_to_wire(channel: NotificationChannel, policy_count: int) -> dict[str, Any]:
    """The channel as DataRobot shows it, without the secret."""
    headers = [{"name": name} for name in channels.custom_header_names(channel)]
    addresses = channels.email_addresses(channel)
    return {
        "id": channel.id,
        "name": channel.name,
        "channelType": channel.channel_type,
        "orgId": channel.org_id,
        "payloadUrl": channel.payload_url,
        "contentType": channel.content_type if channel.channel_type == channels.WEBHOOK else None,
        "customHeaders": headers if channel.channel_type == channels.WEBHOOK else None,
        "validateSsl": channel.validate_ssl if channel.channel_type == channels.WEBHOOK else None,
        "hasSecretToken": channel.secret is not None,
        "emailAddress": addresses[0] if addresses else None,
        "emailAddresses": addresses or None,
        "languageCode": channel.language_code,
        "createdAt": format_datetime(channel.created),
        "updatedAt": format_datetime(channel.updated),
        "lastNotificationAt": format_datetime(channel.last_notification_at),
        "policyCount": policy_count,
    }


def delivery_to_wire(
    delivery: NotificationDelivery, attempts: list[NotificationAttempt]
) -> dict[str, Any]:
    """A delivery with its attempts (ours)."""
    return {
        "id": delivery.id,
        "channelId": delivery.channel_id,
        "policyId": delivery.policy_id,
        "event": delivery.event_type,
        "eventId": delivery.event_id,
        "status": delivery.status,
        "createdAt": format_datetime(delivery.created),
        "nextAttemptAt": format_datetime(delivery.next_attempt_at),
        "deliveredAt": format_datetime(delivery.delivered_at),
        "attemptCount": delivery.attempt_count,
        "attempts": [
            {
                "attemptedAt": format_datetime(attempt.attempted_at),
                "result": attempt.result,
                "statusCode": attempt.status_code,
                "error": attempt.error,
                "durationMs": attempt.duration_ms,
            }
            for attempt in attempts
        ],
        "payload": delivery.payload,
    }


def _wire(session: Session, channel: NotificationChannel) -> dict[str, Any]:
    return channel_to_wire(
        channel, channels.policy_counts(session, [channel.id]).get(channel.id, 0)
    )


@router.post(_PATH, status_code=201, name="create_notification_channel")
def create_channel(
    body: JsonObject, session: SessionDep, caller: CallerDep, settings: SettingsDep
) -> dict[str, Any]:
    """A webhook (``payloadUrl``, ``secretToken``, ``customHeaders``, ``validateSsl``) or an
    email channel (``emailAddress`` / ``emailAddresses``)."""
    return _wire(session, channels.create_channel(session, caller, settings, body))


@router.get(_PATH, name="list_notification_channels", responses=PAGE_RESPONSE)
def list_channels(
    *,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    name_part: Annotated[str | None, Query(alias="namePart", max_length=200)] = None,
) -> dict[str, Any]:
    """The organization's channels, newest first; ``namePart`` filters by name."""
    limit = limit or DEFAULT_LIMIT
    page, total = channels.list_channels(
        session, caller, offset=offset, limit=limit, name_part=name_part
    )
    counts = channels.policy_counts(session, [channel.id for channel in page])
    data = [channel_to_wire(channel, counts.get(channel.id, 0)) for channel in page]
    return page_envelope(request, data, total=total, offset=offset, limit=limit)


@router.get(_ONE, name="get_notification_channel")
def get_channel(channel_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return _wire(session, channels.get_channel(session, caller, channel_id))


@router.patch(_ONE, name="update_notification_channel")
def update_channel(
    channel_id: str,
    body: JsonObject,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Change the given fields (``secretToken``: null or empty removes the secret)."""
    return _wire(session, channels.update_channel(session, caller, settings, channel_id, body))


@router.delete(_ONE, status_code=204, name="delete_notification_channel")
def delete_channel(channel_id: str, session: SessionDep, caller: CallerDep) -> Response:
    """Delete the channel, its policies and its deliveries."""
    channels.delete_channel(session, caller, channel_id)
    return Response(status_code=204)


@router.get(_ONE + "deliveries/", name="list_notification_deliveries", responses=PAGE_RESPONSE)
def list_deliveries(
    *,
    channel_id: str,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """The channel's deliveries, newest first, each with its attempts and their answers;
    ``status`` (pending, delivered, failed) filters."""
    limit = limit or DEFAULT_LIMIT
    page, total, attempts = deliveries.list_deliveries(
        session, caller, channel_id, offset=offset, limit=limit, status=status
    )
    data = [delivery_to_wire(delivery, attempts[delivery.id]) for delivery in page]
    return page_envelope(request, data, total=total, offset=offset, limit=limit)


@router.post(_ONE + "test/", status_code=202, name="test_notification_channel")
def test_channel(channel_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    """Queue a delivery of the event ``notifications.test``; a sender (worker or scheduler
    role) attempts it within a second; follow it in ``deliveries/``."""
    delivery = deliveries.create_test_delivery(session, caller, channel_id)
    return delivery_to_wire(delivery, [])
