"""``AsyncClient.jobs``: ``Jobs`` for asyncio, on the same request descriptions."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

from scorecast_client._exceptions import ScorecastError, TransportError
from scorecast_client._jobs import (
    CHUNK,
    JOBS,
    Destination,
    JobState,
    Source,
    abort_call,
    checked_chunk,
    declared_size,
    download_url,
    jobs_listing,
    local_spec,
    open_source,
    raise_if_failed,
    raise_unless_completed,
    shown,
    staged_path,
    upload_target,
)
from scorecast_client._models import JobData
from scorecast_client._pages import aiterate
from scorecast_client._polling import POLL_INTERVAL, Deadline
from scorecast_client._transport import TRANSFER_TIMEOUT, AsyncTransport

AsyncProgressCallback = Callable[["AsyncJob"], Awaitable[None] | None]


class AsyncJob(JobState):
    """``Job`` for asyncio."""

    def __init__(self, jobs: AsyncJobs, data: JobData) -> None:
        super().__init__(data)
        self._jobs = jobs

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
        deadline = Deadline(timeout)
        while True:
            self.data = (await self._jobs._poll(self.id, deadline)).data
            if on_progress is not None:
                outcome = on_progress(self)
                if outcome is not None:
                    await outcome
            if self.done:
                break
            deadline.check(interval, f"job {self.id} is still {self.status}")
            await asyncio.sleep(interval)
        raise_unless_completed(self.data)
        return self

    async def abort(self) -> AsyncJob:
        self.data = (await self._jobs.abort(self.id)).data
        return self

    async def download(self, destination: Destination) -> int:
        return await self._jobs.download(self.id, destination)


class AsyncJobs:
    """``AsyncClient.jobs``: the calls of ``Client.jobs``, awaited."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    def _job(self, data: JobData) -> AsyncJob:
        return AsyncJob(self, data)

    async def get(self, job_id: str) -> AsyncJob:
        return self._job(await self._t.call(JOBS.get(job_id)))

    async def _poll(self, job_id: str, deadline: Deadline) -> AsyncJob:
        """``Jobs._poll``: WaitTimeout when the server does not answer before ``deadline``."""
        try:
            return self._job(await self._t.call(JOBS.get(job_id), until=deadline.end))
        except TransportError:
            if deadline.passed():
                raise deadline.no_answer(f"job {job_id}") from None
            raise

    async def list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        definition_id: str | None = None,
        deployment_id: str | None = None,
        source: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[AsyncJob]:
        listing = jobs_listing(
            status=status,
            definition_id=definition_id,
            deployment_id=deployment_id,
            source=source,
            page_size=page_size,
        )
        async for item in aiterate(self._t, listing):
            job = self._job(item)
            if shown(job, status):
                yield job

    async def submit(self, spec: Mapping[str, Any]) -> AsyncJob:
        return self._job(await self._t.call(JOBS.create(spec)))

    async def abort(self, job_id: str) -> AsyncJob:
        return self._job(await self._t.call(abort_call(job_id)))

    async def logs(self, job_id: str) -> builtins.list[str]:
        return (await self.get(job_id)).logs

    async def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        on_progress: AsyncProgressCallback | None = None,
    ) -> AsyncJob:
        deadline = Deadline(timeout)
        job = await self._poll(job_id, deadline)
        return await job.wait(timeout=deadline.left(), on_progress=on_progress)

    async def create_local(self, deployment_id: str, **options: Any) -> AsyncJob:
        return await self.submit(local_spec(deployment_id, options))

    async def upload(self, job: AsyncJob, source: Source) -> None:
        """Sends the CSV input of a ``localFile`` job (a path or a binary file); the file is
        read in a worker thread, chunk by chunk."""
        url, headers = upload_target(job.data)
        with open_source(source) as handle:
            declared = declared_size(source, handle)
            if declared is not None:
                headers["Content-Length"] = str(declared)
            await self._t.request(
                "PUT",
                url,
                content=_chunks(handle, declared, source),
                headers=headers,
                timeout=TRANSFER_TIMEOUT,
            )

    async def score(
        self,
        deployment_id: str,
        source: Source,
        destination: Destination | None = None,
        *,
        timeout: float | None = None,
        on_progress: AsyncProgressCallback | None = None,
        **options: Any,
    ) -> AsyncJob:
        """``Jobs.score``: submit, upload, wait, download (the job is aborted if the upload
        fails)."""
        job = await self.create_local(deployment_id, **options)
        try:
            await self.upload(job, source)
        except BaseException:
            with contextlib.suppress(ScorecastError):
                await self.abort(job.id)
            raise
        await job.wait(timeout=timeout, on_progress=on_progress)
        if destination is not None:
            await self.download(job.id, destination)
        return job

    @asynccontextmanager
    async def stream(self, job_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        """``Jobs.stream``: ``async with jobs.stream(id) as chunks: async for c in chunks``."""
        url = download_url((await self.get(job_id)).data)
        async with self._t.stream(url) as response:
            yield response.aiter_bytes(CHUNK)

    async def download(self, job_id: str, destination: Destination) -> int:
        """``Jobs.download``: a path is renamed into place only once the job COMPLETED."""
        if not isinstance(destination, str | Path):
            size = await self._copy(job_id, destination)
            raise_if_failed((await self.get(job_id)).data)
            return size
        target = Path(destination)
        staged = staged_path(target)
        try:
            with staged.open("wb") as handle:
                size = await self._copy(job_id, handle)
            raise_if_failed((await self.get(job_id)).data)
            staged.replace(target)
        finally:
            staged.unlink(missing_ok=True)
        return size

    async def _copy(self, job_id: str, handle: IO[bytes]) -> int:
        size = 0
        async with self.stream(job_id) as chunks:
            async for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        handle.flush()
        return size


async def _chunks(handle: IO[bytes], declared: int | None, source: Source) -> AsyncIterator[bytes]:
    sent = 0
    while True:
        chunk = await asyncio.to_thread(handle.read, CHUNK)
        sent = checked_chunk(chunk, sent, declared, source)
        if not chunk:
            return
        yield chunk
