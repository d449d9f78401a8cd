"""Notification channels and policies: where the server tells about runs, and which events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scorecast_client._calls import Call, Collection, Listing, compact
from scorecast_client._models import DeliveryData, NotificationChannelData, NotificationPolicyData
from scorecast_client._pages import iterate
from scorecast_client._transport import SyncTransport

CHANNELS: Collection[NotificationChannelData] = Collection("notificationChannels/", keys=("id",))
POLICIES: Collection[NotificationPolicyData] = Collection("notificationPolicies/", keys=("id",))


def deliveries_listing(channel_id: str, status: str | None) -> Listing[DeliveryData]:
    return Listing(f"{CHANNELS.item(channel_id)}deliveries/", compact(status=status))


def channel_test_call(channel_id: str) -> Call[DeliveryData]:
    return Call("POST", f"{CHANNELS.item(channel_id)}test/", keys=("id",))


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
        return self._t.call(CHANNELS.create(body))

    def list(self, *, name_part: str | None = None) -> Iterator[NotificationChannelData]:
        return iterate(self._t, CHANNELS.listing(namePart=name_part))

    def get(self, channel_id: str) -> NotificationChannelData:
        return self._t.call(CHANNELS.get(channel_id))

    def update(self, channel_id: str, changes: Mapping[str, Any]) -> NotificationChannelData:
        return self._t.call(CHANNELS.update(channel_id, changes))

    def delete(self, channel_id: str) -> None:
        """Delete the channel with its policies and deliveries."""
        self._t.call(CHANNELS.delete(channel_id))

    def deliveries(self, channel_id: str, *, status: str | None = None) -> Iterator[DeliveryData]:
        """The channel's deliveries, newest first, with their attempts."""
        return iterate(self._t, deliveries_listing(channel_id, status))

    def test(self, channel_id: str) -> DeliveryData:
        """Queue a test delivery; the server sends it within a second or so."""
        return self._t.call(channel_test_call(channel_id))


class NotificationPolicies:
    """``client.notification_policies``: which events (of which definition) go to a channel."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, body: Mapping[str, Any]) -> NotificationPolicyData:
        """``{"name", "channelId", "eventType" | "eventGroup", "relatedEntityId"?,
        "maximalFrequency"?, "active"?}``."""
        return self._t.call(POLICIES.create(body))

    def list(self, *, channel_id: str | None = None) -> Iterator[NotificationPolicyData]:
        return iterate(self._t, POLICIES.listing(channelId=channel_id))

    def get(self, policy_id: str) -> NotificationPolicyData:
        return self._t.call(POLICIES.get(policy_id))

    def update(self, policy_id: str, changes: Mapping[str, Any]) -> NotificationPolicyData:
        return self._t.call(POLICIES.update(policy_id, changes))

    def delete(self, policy_id: str) -> None:
        self._t.call(POLICIES.delete(policy_id))
