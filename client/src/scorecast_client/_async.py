"""``AsyncClient``: the ``Client`` for asyncio, for jobs, definitions and deployments.

The same URLs, retries and exceptions as the blocking client (the wire code is shared); the
calls are awaited. Uploading a model, credentials, data stores and datasets are set-up work
done once, and stay on the blocking ``Client``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import httpx

from scorecast_client._backoff import RetryPolicy
from scorecast_client._exceptions import JobFailed, ScorecastError, WaitTimeout
from scorecast_client._jobs import CHUNK, POLL_INTERVAL
from scorecast_client._models import (
    TERMINAL_STATUSES,
    DefinitionData,
    DeploymentData,
    JobData,
    JobStatus,
    job_data,
)
from scorecast_client._pages import aiterate, compact
from scorecast_client._settings import resolve
from scorecast_client._transport import TRANSFER_TIMEOUT, AsyncTransport

AsyncProgressCallback = Callable[["AsyncJob"], Awaitable[None] | None]


class AsyncJob:
    """``Job`` for asyncio."""

    def __init__(self, jobs: AsyncJobs, data: JobData) -> None:
        self._jobs = jobs
        self.data = job_data(data)

    def __repr__(self) -> str:
        return f"<AsyncJob {self.id} {self.status}>"

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def status(self) -> JobStatus:
        return self.data["status"]

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    async def refresh(self) -> AsyncJob:
        self.data = (await self._jobs.get(self.id)).data
        return self

    async def wait(
        self,
        timeout: float | None = None,
        on_progress: AsyncProgressCallback | None = None,
        interval: float = POLL_INTERVAL,
    ) -> AsyncJob:
        """``Job.wait``: JobFailed on ABORTED/FAILED, WaitTimeout after ``timeout`` seconds;
        ``on_progress`` may be a plain function or a coroutine function."""
        interval = max(interval, POLL_INTERVAL)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            await self.refresh()
            if on_progress is not None:
                outcome = on_progress(self)
                if outcome is not None:
                    await outcome
            if self.done:
                break
            if deadline is not None and time.monotonic() + interval > deadline:
                raise WaitTimeout(f"job {self.id} is still {self.status} after {timeout:g} s")
            await asyncio.sleep(interval)
        if self.status != "COMPLETED":
            raise JobFailed(self.data)
        return self

    async def abort(self) -> AsyncJob:
        self.data = (await self._jobs.abort(self.id)).data
        return self


class AsyncJobs:
    """``AsyncClient.jobs``."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    def _job(self, data: Any) -> AsyncJob:
        return AsyncJob(self, cast(JobData, data))

    async def get(self, job_id: str) -> AsyncJob:
        return self._job(await self._t.json("GET", f"batchPredictions/{job_id}/"))

    async def list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        definition_id: str | None = None,
        deployment_id: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[AsyncJob]:
        statuses = [status] if isinstance(status, str) else list(status or [])
        params = compact(
            status=statuses,
            batchPredictionJobDefinitionId=definition_id,
            deploymentId=deployment_id,
            limit=page_size,
        )
        async for item in aiterate(self._t, "batchPredictions/", params):
            yield self._job(item)

    async def submit(self, spec: Mapping[str, Any]) -> AsyncJob:
        return self._job(await self._t.json("POST", "batchPredictions/", json=dict(spec)))

    async def abort(self, job_id: str) -> AsyncJob:
        return self._job(await self._t.json("DELETE", f"batchPredictions/{job_id}/"))

    async def score(
        self,
        deployment_id: str,
        source: str | Path,
        destination: str | Path | None = None,
        *,
        timeout: float | None = None,
        on_progress: AsyncProgressCallback | None = None,
        **options: Any,
    ) -> AsyncJob:
        """``Jobs.score`` for a file path: submit, upload, wait, download."""
        spec = {
            **options,
            "deploymentId": deployment_id,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
        }
        job = await self.submit(spec)
        path = Path(source)
        headers = {"Content-Type": "text/csv", "Content-Length": str(path.stat().st_size)}
        await self._t.request(
            "PUT",
            job.data["links"]["csvUpload"],
            content=path.read_bytes(),
            headers=headers,
            timeout=TRANSFER_TIMEOUT,
        )
        await job.wait(timeout=timeout, on_progress=on_progress)
        if destination is not None:
            await self.download(job.id, destination)
        return job

    async def download(self, job_id: str, destination: str | Path) -> int:
        """``Jobs.download`` to a path: renamed into place only once the job COMPLETED."""
        job = await self.get(job_id)
        url = job.data["links"].get("download")
        if url is None:
            raise ScorecastError(f"job {job_id} has no result to download (status {job.status})")
        target = Path(destination)
        staged = target.with_name(f".{target.name}.part")
        size = 0
        try:
            with staged.open("wb") as handle:
                async with self._t.stream(url) as response:
                    async for chunk in response.aiter_bytes(CHUNK):
                        handle.write(chunk)
                        size += len(chunk)
            job = await self.get(job_id)
            if job.status in ("ABORTED", "FAILED"):
                raise JobFailed(job.data)
            staged.replace(target)
        finally:
            staged.unlink(missing_ok=True)
        return size


class AsyncDefinitions:
    """``AsyncClient.definitions``."""

    _PATH = "batchPredictionJobDefinitions/"

    def __init__(self, transport: AsyncTransport, jobs: AsyncJobs) -> None:
        self._t = transport
        self._jobs = jobs

    async def create(self, spec: Mapping[str, Any]) -> DefinitionData:
        return cast(DefinitionData, await self._t.json("POST", self._PATH, json=dict(spec)))

    async def get(self, definition_id: str) -> DefinitionData:
        return cast(DefinitionData, await self._t.json("GET", f"{self._PATH}{definition_id}/"))

    async def list(self, *, search_name: str | None = None) -> AsyncIterator[DefinitionData]:
        async for item in aiterate(self._t, self._PATH, compact(searchName=search_name)):
            yield cast(DefinitionData, item)

    async def update(self, definition_id: str, changes: Mapping[str, Any]) -> DefinitionData:
        url = f"{self._PATH}{definition_id}/"
        return cast(DefinitionData, await self._t.json("PATCH", url, json=dict(changes)))

    async def enable(self, definition_id: str) -> DefinitionData:
        return await self.update(definition_id, {"enabled": True})

    async def disable(self, definition_id: str) -> DefinitionData:
        return await self.update(definition_id, {"enabled": False})

    async def run(self, definition_id: str) -> AsyncJob:
        body = {"jobDefinitionId": definition_id}
        data = await self._t.json("POST", "batchPredictions/fromJobDefinition/", json=body)
        return AsyncJob(self._jobs, data)

    async def delete(self, definition_id: str) -> None:
        await self._t.request("DELETE", f"{self._PATH}{definition_id}/")


class AsyncDeployments:
    """``AsyncClient.deployments`` (registering a model stays on the blocking ``Client``)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def list(self) -> AsyncIterator[DeploymentData]:
        async for item in aiterate(self._t, "deployments/", {}):
            yield cast(DeploymentData, item)

    async def get(self, deployment_id: str) -> DeploymentData:
        return cast(DeploymentData, await self._t.json("GET", f"deployments/{deployment_id}/"))

    async def delete(self, deployment_id: str) -> None:
        await self._t.request("DELETE", f"deployments/{deployment_id}/")


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
        self.jobs = AsyncJobs(self._transport)
        self.definitions = AsyncDefinitions(self._transport, self.jobs)
        self.deployments = AsyncDeployments(self._transport)

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
