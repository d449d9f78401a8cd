"""``AsyncClient.notification_channels`` and ``.notification_policies``, awaited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from scorecast_client._models import DeliveryData, NotificationChannelData, NotificationPolicyData
from scorecast_client._notifications import (
    CHANNELS,
    POLICIES,
    channel_test_call,
    deliveries_listing,
)
from scorecast_client._pages import aiterate
from scorecast_client._transport import AsyncTransport


class AsyncNotificationChannels:
    """``Client.notification_channels`` for asyncio."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(self, body: Mapping[str, Any]) -> NotificationChannelData:
        return await self._t.call(CHANNELS.create(body))

    async def list(self, *, name_part: str | None = None) -> AsyncIterator[NotificationChannelData]:
        async for item in aiterate(self._t, CHANNELS.listing(namePart=name_part)):
            yield item

    async def get(self, channel_id: str) -> NotificationChannelData:
        return await self._t.call(CHANNELS.get(channel_id))

    async def update(self, channel_id: str, changes: Mapping[str, Any]) -> NotificationChannelData:
        return await self._t.call(CHANNELS.update(channel_id, changes))

    async def delete(self, channel_id: str) -> None:
        await self._t.call(CHANNELS.delete(channel_id))

    async def deliveries(
        self, channel_id: str, *, status: str | None = None
    ) -> AsyncIterator[DeliveryData]:
        async for item in aiterate(self._t, deliveries_listing(channel_id, status)):
            yield item

    async def test(self, channel_id: str) -> DeliveryData:
        return await self._t.call(channel_test_call(channel_id))


class AsyncNotificationPolicies:
    """``Client.notification_policies`` for asyncio."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(self, body: Mapping[str, Any]) -> NotificationPolicyData:
        return await self._t.call(POLICIES.create(body))

    async def list(self, *, channel_id: str | None = None) -> AsyncIterator[NotificationPolicyData]:
        async for item in aiterate(self._t, POLICIES.listing(channelId=channel_id)):
            yield item

    async def get(self, policy_id: str) -> NotificationPolicyData:
        return await self._t.call(POLICIES.get(policy_id))

    async def update(self, policy_id: str, changes: Mapping[str, Any]) -> NotificationPolicyData:
        return await self._t.call(POLICIES.update(policy_id, changes))

    async def delete(self, policy_id: str) -> None:
        await self._t.call(POLICIES.delete(policy_id))
