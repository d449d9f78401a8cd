"""``AsyncClient.definitions`` and ``AsyncClient.backfills``, on the blocking ones' requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from scorecast_client._async_jobs import AsyncJob, AsyncJobs
from scorecast_client._backfills import backfills, cancel_call
from scorecast_client._calls import is_segment
from scorecast_client._definitions import (
    DEFINITIONS,
    backfill_call,
    fires_listing,
    not_found,
    preview_call,
    preview_schedule_call,
    run_call,
)
from scorecast_client._exceptions import NotFound, TransportError
from scorecast_client._models import BackfillData, DefinitionData, FireData, SchedulePreviewData
from scorecast_client._pages import aiterate
from scorecast_client._polling import POLL_INTERVAL, Deadline
from scorecast_client._transport import AsyncTransport

AsyncBackfillCallback = Callable[[BackfillData], Awaitable[None] | None]


class AsyncDefinitions:
    """``AsyncClient.definitions``: the calls of ``Client.definitions``, awaited."""

    def __init__(self, transport: AsyncTransport, jobs: AsyncJobs) -> None:
        self._t = transport
        self._jobs = jobs

    async def create(self, spec: Mapping[str, Any]) -> DefinitionData:
        return await self._t.call(DEFINITIONS.create(spec))

    async def get(self, definition_id: str) -> DefinitionData:
        return await self._t.call(DEFINITIONS.get(definition_id))

    async def find(self, id_or_name: str) -> DefinitionData:
        """The definition with this id, else the one with exactly this name (NotFound if none)."""
        if is_segment(id_or_name):  # else it cannot be an id, only a name
            try:
                return await self.get(id_or_name)
            except NotFound:
                pass
        async for definition in self.list(search_name=id_or_name):
            if definition["name"] == id_or_name:
                return definition
        raise not_found(id_or_name)

    async def list(
        self, *, search_name: str | None = None, deployment_id: str | None = None
    ) -> AsyncIterator[DefinitionData]:
        listing = DEFINITIONS.listing(searchName=search_name, deploymentId=deployment_id)
        async for item in aiterate(self._t, listing):
            yield item

    async def update(self, definition_id: str, changes: Mapping[str, Any]) -> DefinitionData:
        return await self._t.call(DEFINITIONS.update(definition_id, changes))

    async def enable(self, definition_id: str) -> DefinitionData:
        return await self.update(definition_id, {"enabled": True})

    async def disable(self, definition_id: str) -> DefinitionData:
        return await self.update(definition_id, {"enabled": False})

    async def fires(
        self,
        definition_id: str,
        *,
        outcome: str | Sequence[str] | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> AsyncIterator[FireData]:
        async for item in aiterate(self._t, fires_listing(definition_id, outcome, start, end)):
            yield item

    async def preview(self, definition_id: str, count: int = 10) -> SchedulePreviewData:
        return await self._t.call(preview_call(definition_id, count))

    async def preview_schedule(
        self, schedule: Mapping[str, Any], *, after: str | None = None, count: int = 10
    ) -> SchedulePreviewData:
        return await self._t.call(preview_schedule_call(schedule, after, count))

    async def backfill(
        self,
        definition_id: str,
        start: str,
        end: str,
        *,
        max_concurrent: int = 1,
        rerun: bool = False,
    ) -> BackfillData:
        call = backfill_call(definition_id, start, end, max_concurrent, rerun)
        return await self._t.call(call)

    async def run(self, definition_id: str) -> AsyncJob:
        return AsyncJob(self._jobs, await self._t.call(run_call(definition_id)))

    async def delete(self, definition_id: str) -> None:
        await self._t.call(DEFINITIONS.delete(definition_id))


class AsyncBackfills:
    """``AsyncClient.backfills``; start one with ``AsyncClient.definitions.backfill``."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def list(self, definition_id: str) -> AsyncIterator[BackfillData]:
        async for item in aiterate(self._t, backfills(definition_id).listing()):
            yield item

    async def get(self, definition_id: str, backfill_id: str) -> BackfillData:
        return await self._t.call(backfills(definition_id).get(backfill_id))

    async def cancel(self, definition_id: str, backfill_id: str) -> BackfillData:
        return await self._t.call(cancel_call(definition_id, backfill_id))

    async def wait(
        self,
        definition_id: str,
        backfill_id: str,
        timeout: float | None = None,
        on_progress: AsyncBackfillCallback | None = None,
        interval: float = POLL_INTERVAL,
    ) -> BackfillData:
        """``Backfills.wait``; ``on_progress`` may be a plain function or a coroutine function."""
        interval = max(interval, POLL_INTERVAL)
        deadline = Deadline(timeout)
        call = backfills(definition_id).get(backfill_id)
        while True:
            try:
                backfill = await self._t.call(call, until=deadline.end)
            except TransportError:
                if deadline.passed():
                    raise deadline.no_answer(f"backfill {backfill_id}") from None
                raise
            if on_progress is not None:
                outcome = on_progress(backfill)
                if outcome is not None:
                    await outcome
            if backfill["status"] != "running":
                return backfill
            deadline.check(interval, f"backfill {backfill_id} is still running")
            await asyncio.sleep(interval)
