"""Notification channels and policies: where the server tells about runs, and which events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

from scorecast_client._models import DeliveryData, NotificationChannelData, NotificationPolicyData
from scorecast_client._pages import compact, iterate
from scorecast_client._transport import SyncTransport


class NotificationChannels:
    """``client.notification_channels``: webhooks and email addresses.

    A channel's ``secretToken`` is sent, never received back (``hasSecretToken`` says whether
    one is set).
    """

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, body: Mapping[str, Any]) -> NotificationChannelData:
        """``{"name", "channelType": "Webhook", "payloadUrl", "secretToken"?, ...}`` or
        ``{"name", "channelType": "Email", "emailAddress" | "emailAddresses"}``."""
        answer = self._t.json("POST", "notificationChannels/", json=dict(body))
        return cast(NotificationChannelData, answer)

    def list(self, *, name_part: str | None = None) -> Iterator[NotificationChannelData]:
        return iterate(self._t, "notificationChannels/", compact(namePart=name_part))

    def get(self, channel_id: str) -> NotificationChannelData:
        answer = self._t.json("GET", f"notificationChannels/{channel_id}/")
        return cast(NotificationChannelData, answer)

    def update(self, channel_id: str, changes: Mapping[str, Any]) -> NotificationChannelData:
        answer = self._t.json("PATCH", f"notificationChannels/{channel_id}/", json=dict(changes))
        return cast(NotificationChannelData, answer)

    def delete(self, channel_id: str) -> None:
        """Delete the channel with its policies and deliveries."""
        self._t.request("DELETE", f"notificationChannels/{channel_id}/")

    def deliveries(self, channel_id: str, *, status: str | None = None) -> Iterator[DeliveryData]:
        """The channel's deliveries, newest first, with their attempts."""
        path = f"notificationChannels/{channel_id}/deliveries/"
        return iterate(self._t, path, compact(status=status))

    def test(self, channel_id: str) -> DeliveryData:
        """Queue a test delivery; the server sends it within a second or so."""
        answer = self._t.json("POST", f"notificationChannels/{channel_id}/test/")
        return cast(DeliveryData, answer)


class NotificationPolicies:
    """``client.notification_policies``: which events (of which definition) go to a channel."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, body: Mapping[str, Any]) -> NotificationPolicyData:
        """``{"name", "channelId", "eventType" | "eventGroup", "relatedEntityId"?,
        "maximalFrequency"?, "active"?}``."""
        answer = self._t.json("POST", "notificationPolicies/", json=dict(body))
        return cast(NotificationPolicyData, answer)

    def list(self, *, channel_id: str | None = None) -> Iterator[NotificationPolicyData]:
        return iterate(self._t, "notificationPolicies/", compact(channelId=channel_id))

    def get(self, policy_id: str) -> NotificationPolicyData:
        answer = self._t.json("GET", f"notificationPolicies/{policy_id}/")
        return cast(NotificationPolicyData, answer)

    def update(self, policy_id: str, changes: Mapping[str, Any]) -> NotificationPolicyData:
        answer = self._t.json("PATCH", f"notificationPolicies/{policy_id}/", json=dict(changes))
        return cast(NotificationPolicyData, answer)

    def delete(self, policy_id: str) -> None:
        self._t.request("DELETE", f"notificationPolicies/{policy_id}/")
