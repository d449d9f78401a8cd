"""``AsyncClient``: the ``Client`` for asyncio, with every resource of the blocking client.

The same URLs, retries, models and exceptions as ``Client``: both send the same request
descriptions (``_calls``), through ``AsyncTransport`` here; the calls are awaited, listings
are async iterators, and ``wait``'s ``on_progress`` may be a coroutine function.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from scorecast_client._async_catalog import (
    AsyncCredentials,
    AsyncDatasets,
    AsyncDataStores,
    AsyncDeployments,
)
from scorecast_client._async_definitions import AsyncBackfills, AsyncDefinitions
from scorecast_client._async_jobs import AsyncJob, AsyncJobs
from scorecast_client._async_notifications import (
    AsyncNotificationChannels,
    AsyncNotificationPolicies,
)
from scorecast_client._backoff import RetryPolicy
from scorecast_client._settings import resolve
from scorecast_client._transport import AsyncTransport

__all__ = ["AsyncClient", "AsyncJob"]


class AsyncClient:
    """``Client`` for asyncio: ``async with AsyncClient() as client: await client.jobs.get(id)``."""

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        *,
        profile: str | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        settings = resolve(endpoint, token, profile)
        self.endpoint = settings.endpoint
        self._transport = AsyncTransport(settings, retry or RetryPolicy(), transport)
        self.deployments = AsyncDeployments(self._transport)
        self.jobs = AsyncJobs(self._transport)
        self.definitions = AsyncDefinitions(self._transport, self.jobs)
        self.backfills = AsyncBackfills(self._transport)
        self.credentials = AsyncCredentials(self._transport)
        self.data_stores = AsyncDataStores(self._transport)
        self.datasets = AsyncDatasets(self._transport)
        self.notification_channels = AsyncNotificationChannels(self._transport)
        self.notification_policies = AsyncNotificationPolicies(self._transport)

    async def version(self) -> dict[str, Any]:
        """``GET version/``: also the cheapest check that the endpoint and token work."""
        body: dict[str, Any] = await self._transport.json("GET", "version/", keys=())
        return body

    async def check(self) -> None:
        """Raises Unauthorized unless the token is accepted (one cheap authenticated request),
        and ScorecastError unless the answer is the API's (a list page of deployments)."""
        await self._transport.json("GET", "deployments/", keys=("data",), params={"limit": 1})

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
