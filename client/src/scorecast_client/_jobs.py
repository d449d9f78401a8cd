"""Jobs: submit, score a local file, follow progress, abort, download the result."""

from __future__ import annotations

import builtins
import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from scorecast_client._exceptions import JobFailed, ScorecastError, WaitTimeout
from scorecast_client._models import TERMINAL_STATUSES, JobData, JobStatus, job_data
from scorecast_client._pages import compact, iterate
from scorecast_client._transport import TRANSFER_TIMEOUT, SyncTransport

#: Seconds between two polls of a job: the server is asked at most once a second per job.
POLL_INTERVAL = 1.0

#: Bytes per read when uploading or downloading.
CHUNK = 1 << 20

ProgressCallback = Callable[["Job"], None]
Source = str | Path | IO[bytes]
Destination = str | Path | IO[bytes]


class Job:
    """One job as last seen (``data``), with the calls that act on it."""

    def __init__(self, jobs: Jobs, data: JobData) -> None:
        self._jobs = jobs
        self.data = job_data(data)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.status} {self.data['percentageCompleted']:.0f}%>"

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def status(self) -> JobStatus:
        return self.data["status"]

    @property
    def done(self) -> bool:
        """True once the job ended (COMPLETED, ABORTED or FAILED)."""
        return self.status in TERMINAL_STATUSES

    @property
    def logs(self) -> list[str]:
        return list(self.data["logs"])

    def refresh(self) -> Job:
        """Reads the job again; returns ``self``."""
        self.data = self._jobs.get(self.id).data
        return self

    def wait(
        self,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        interval: float = POLL_INTERVAL,
    ) -> Job:
        """Polls until the job ends; returns ``self`` once COMPLETED.

        ``on_progress(job)`` is called after every poll (the first one at once).
        Raises JobFailed (with the server's ``statusDetails``) when the job ends ABORTED or
        FAILED, and WaitTimeout after ``timeout`` seconds (the job itself goes on).
        """
        interval = max(interval, POLL_INTERVAL)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.refresh()
            if on_progress is not None:
                on_progress(self)
            if self.done:
                break
            if deadline is not None and time.monotonic() + interval > deadline:
                raise WaitTimeout(f"job {self.id} is still {self.status} after {timeout:g} s")
            time.sleep(interval)
        if self.status != "COMPLETED":
            raise JobFailed(self.data)
        return self

    def abort(self) -> Job:
        """Aborts the job (Conflict if it already ended); returns ``self`` updated."""
        self.data = self._jobs.abort(self.id).data
        return self

    def download(self, destination: Destination) -> int:
        """Writes the result to a path or binary file; the byte count (see ``Jobs.download``)."""
        return self._jobs.download(self.id, destination)


class Jobs:
    """``client.jobs``."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def _job(self, data: Any) -> Job:
        return Job(self, cast(JobData, data))

    def get(self, job_id: str) -> Job:
        return self._job(self._t.json("GET", f"batchPredictions/{job_id}/"))

    def list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        definition_id: str | None = None,
        deployment_id: str | None = None,
        source: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Job]:
        """The organization's jobs, newest first, page after page (filters combine)."""
        statuses = [status] if isinstance(status, str) else list(status or [])
        params = compact(
            status=statuses,
            batchPredictionJobDefinitionId=definition_id,
            deploymentId=deployment_id,
            source=source,
            limit=page_size,
        )
        for item in iterate(self._t, "batchPredictions/", params):
            yield self._job(item)

    def submit(self, spec: Mapping[str, Any]) -> Job:
        """Submits a job spec with any intake and output (DataRobot's JSON, camelCase)."""
        return self._job(self._t.json("POST", "batchPredictions/", json=dict(spec)))

    def abort(self, job_id: str) -> Job:
        return self._job(self._t.json("DELETE", f"batchPredictions/{job_id}/"))

    def logs(self, job_id: str) -> builtins.list[str]:
        return self.get(job_id).logs

    def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        """``Job.wait`` for a job id."""
        return self.get(job_id).wait(timeout=timeout, on_progress=on_progress)

    def create_local(self, deployment_id: str, **options: Any) -> Job:
        """A job reading an upload and writing a download; ``options`` are job spec keys."""
        spec = {
            **options,
            "deploymentId": deployment_id,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
        }
        return self.submit(spec)

    def upload(self, job: Job, source: Source) -> None:
        """Sends the CSV input of a ``localFile`` job (a path or a binary file, e.g. stdin)."""
        url = job.data["links"].get("csvUpload")
        if url is None:
            raise ScorecastError(f"job {job.id} does not read an upload (intake is not localFile)")
        headers = {"Content-Type": "text/csv"}
        if isinstance(source, str | Path):
            path = Path(source)
            headers["Content-Length"] = str(path.stat().st_size)
            with path.open("rb") as handle:
                self._t.request(
                    "PUT", url, content=_chunks(handle), headers=headers, timeout=TRANSFER_TIMEOUT
                )
        else:
            self._t.request(
                "PUT", url, content=_chunks(source), headers=headers, timeout=TRANSFER_TIMEOUT
            )

    def score(
        self,
        deployment_id: str,
        source: Source,
        destination: Destination | None = None,
        *,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        **options: Any,
    ) -> Job:
        """Scores a local CSV file: submit, upload, wait, then download to ``destination``.

        ``options`` are job spec keys (``passthroughColumns``, ``maxExplanations``,
        ``predictionThreshold`` …). Raises JobFailed if the job does not complete; then nothing
        is written at a ``destination`` path.
        """
        job = self.create_local(deployment_id, **options)
        try:
            self.upload(job, source)
        except BaseException:
            _abort_quietly(self, job.id)
            raise
        job.wait(timeout=timeout, on_progress=on_progress)
        if destination is not None:
            self.download(job.id, destination)
        return job

    @contextmanager
    def stream(self, job_id: str) -> Iterator[Iterator[bytes]]:
        """The result as it is produced: ``with jobs.stream(id) as chunks: for c in chunks``.

        The stream can start while the job runs. A stream cut short by an abort or a failure
        is NOT detected here: check the job's status once the chunks are consumed
        (``download`` does).
        """
        job = self.get(job_id)
        url = job.data["links"].get("download")
        if url is None:
            raise ScorecastError(
                f"job {job_id} has no result to download (status {job.status}; "
                "only a localFile output is downloaded, once the job runs)"
            )
        with self._t.stream(url) as response:
            yield response.iter_bytes(CHUNK)

    def download(self, job_id: str, destination: Destination) -> int:
        """Writes the result to a path or a binary file; returns the number of bytes.

        A path is written next to itself under a temporary name and renamed only once the job
        is known to have COMPLETED, so a partial result never appears under the final name.
        Raises JobFailed when the job ended ABORTED or FAILED during the download.
        """
        if not isinstance(destination, str | Path):
            size = self._copy(job_id, destination)
            self._check_completed(job_id)
            return size
        target = Path(destination)
        staged = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            with staged.open("wb") as handle:
                size = self._copy(job_id, handle)
            self._check_completed(job_id)
            staged.replace(target)
        finally:
            staged.unlink(missing_ok=True)
        return size

    def _copy(self, job_id: str, handle: IO[bytes]) -> int:
        size = 0
        with self.stream(job_id) as chunks:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        handle.flush()
        return size

    def _check_completed(self, job_id: str) -> None:
        job = self.get(job_id)
        if job.status in ("ABORTED", "FAILED"):
            raise JobFailed(job.data)


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk


def _abort_quietly(jobs: Jobs, job_id: str) -> None:
    with contextlib.suppress(ScorecastError):  # the upload error is the one worth reporting
        jobs.abort(job_id)
