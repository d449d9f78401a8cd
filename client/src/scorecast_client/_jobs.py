"""Jobs: submit, score a local file, follow progress, abort, download the result."""

from __future__ import annotations

import builtins
import contextlib
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from scorecast_client._calls import Call, Collection, Listing
from scorecast_client._exceptions import JobFailed, ScorecastError, TransportError
from scorecast_client._models import TERMINAL_STATUSES, JobData, JobStatus, job_data
from scorecast_client._pages import iterate
from scorecast_client._polling import POLL_INTERVAL, Deadline
from scorecast_client._transport import TRANSFER_TIMEOUT, SyncTransport

#: Bytes per read when uploading or downloading.
CHUNK = 1 << 20

ProgressCallback = Callable[["Job"], None]
Source = str | Path | IO[bytes]
Destination = str | Path | IO[bytes]

JOBS: Collection[JobData] = Collection("batchPredictions/", keys=("id", "status"))


def jobs_listing(
    *,
    status: str | Sequence[str] | None,
    definition_id: str | None,
    deployment_id: str | None,
    source: str | None,
    page_size: int,
) -> Listing[JobData]:
    statuses = [status] if isinstance(status, str) else list(status or [])
    return JOBS.listing(
        status=statuses,
        batchPredictionJobDefinitionId=definition_id,
        deploymentId=deployment_id,
        source=source,
        limit=page_size,
    )


def shown(job: JobState, status: str | Sequence[str] | None) -> bool:
    """Whether ``job`` has one of the statuses asked for (any case; None: all).

    The server's ``status=ABORTED`` also finds failed jobs (the wire shows them ABORTED, see
    docs/reference/datarobot-differences.md), which the SDK shows FAILED: they are left out
    unless FAILED is asked for too, so that a listing holds the statuses asked for only.
    """
    if not status:
        return True
    asked = [status] if isinstance(status, str) else status
    return job.status in {value.upper() for value in asked}


def abort_call(job_id: str) -> Call[JobData]:
    return Call("DELETE", JOBS.item(job_id), keys=JOBS.keys)


def local_spec(deployment_id: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The spec of a job that reads an upload and writes a download."""
    return {
        **options,
        "deploymentId": deployment_id,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }


def upload_target(data: JobData) -> tuple[str, dict[str, str]]:
    """The URL and headers of a ``localFile`` job's CSV upload (``Content-Length`` apart, see
    ``declared_size``)."""
    url = data["links"].get("csvUpload")
    if url is None:
        raise ScorecastError(f"job {data['id']} does not read an upload (intake is not localFile)")
    return url, {"Content-Type": "text/csv"}


def declared_size(source: Source, handle: IO[bytes]) -> int | None:
    """The ``Content-Length`` of an upload: the size of a regular file opened from a path (the
    server shows the upload's progress with it); None for anything else (a FIFO, an open file
    such as stdin), which is sent chunked."""
    if not isinstance(source, str | Path):
        return None
    info = os.fstat(handle.fileno())
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def size_changed(source: Source, declared: int) -> ScorecastError:
    """The error of a file whose size changed while it was sent with ``declared`` bytes."""
    return ScorecastError(
        f"{source} changed size while it was uploaded ({declared:,} bytes when the upload "
        "began); upload a file that is complete, or pipe it in (INPUT -)"
    )


def checked_chunk(chunk: bytes, sent: int, declared: int | None, source: Source) -> int:
    """The byte count after ``chunk`` (``b""`` at the end of the file); ScorecastError when
    it no longer matches ``declared``."""
    total = sent + len(chunk)
    if declared is not None and (total > declared or (not chunk and total != declared)):
        raise size_changed(source, declared)
    return total


def download_url(data: JobData) -> str:
    url = data["links"].get("download")
    if url is None:
        raise ScorecastError(
            f"job {data['id']} has no result to download (status {data['status']}; "
            "only a localFile output is downloaded, once the job runs)"
        )
    return url


def staged_path(target: Path) -> Path:
    """Where a download is written before it is renamed to ``target``."""
    return target.with_name(f".{target.name}.{os.getpid()}.part")


def raise_if_failed(data: JobData) -> None:
    if data["status"] in ("ABORTED", "FAILED"):
        raise JobFailed(data)


def raise_unless_completed(data: JobData) -> None:
    if data["status"] != "COMPLETED":
        raise JobFailed(data)


class JobState:
    """A job as last seen (``data``): what ``Job`` and ``AsyncJob`` read alike."""

    def __init__(self, data: JobData) -> None:
        self.data = job_data(data)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"<{name} {self.id} {self.status} {self.data['percentageCompleted']:.0f}%>"

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


class Job(JobState):
    """One job as last seen (``data``), with the calls that act on it."""

    def __init__(self, jobs: Jobs, data: JobData) -> None:
        super().__init__(data)
        self._jobs = jobs

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
        FAILED, and WaitTimeout after ``timeout`` seconds (the job itself goes on): a poll the
        server does not answer is given up then too.
        """
        interval = max(interval, POLL_INTERVAL)
        deadline = Deadline(timeout)
        while True:
            self.data = self._jobs._poll(self.id, deadline).data
            if on_progress is not None:
                on_progress(self)
            if self.done:
                break
            deadline.check(interval, f"job {self.id} is still {self.status}")
            time.sleep(interval)
        raise_unless_completed(self.data)
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
        return self._job(self._t.call(JOBS.get(job_id)))

    def _poll(self, job_id: str, deadline: Deadline) -> Job:
        """``get`` within a wait: WaitTimeout when the server does not answer (retries
        included) before ``deadline``."""
        try:
            return self._job(self._t.call(JOBS.get(job_id), until=deadline.end))
        except TransportError:
            if deadline.passed():
                raise deadline.no_answer(f"job {job_id}") from None
            raise

    def list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        definition_id: str | None = None,
        deployment_id: str | None = None,
        source: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Job]:
        """The organization's jobs, newest first, page after page (filters combine); a job
        appears once, with one of the statuses asked for (see ``shown``)."""
        listing = jobs_listing(
            status=status,
            definition_id=definition_id,
            deployment_id=deployment_id,
            source=source,
            page_size=page_size,
        )
        for item in iterate(self._t, listing):
            job = self._job(item)
            if shown(job, status):
                yield job

    def submit(self, spec: Mapping[str, Any]) -> Job:
        """Submits a job spec with any intake and output (DataRobot's JSON, camelCase)."""
        return self._job(self._t.call(JOBS.create(spec)))

    def abort(self, job_id: str) -> Job:
        return self._job(self._t.call(abort_call(job_id)))

    def logs(self, job_id: str) -> builtins.list[str]:
        return self.get(job_id).logs

    def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        """``Job.wait`` for a job id (its first read is bounded by ``timeout`` too)."""
        deadline = Deadline(timeout)
        job = self._poll(job_id, deadline)
        return job.wait(timeout=deadline.left(), on_progress=on_progress)

    def create_local(self, deployment_id: str, **options: Any) -> Job:
        """A job reading an upload and writing a download; ``options`` are job spec keys."""
        return self.submit(local_spec(deployment_id, options))

    def upload(self, job: Job, source: Source) -> None:
        """Sends the CSV input of a ``localFile`` job (a path or a binary file, e.g. stdin)."""
        url, headers = upload_target(job.data)
        with open_source(source) as handle:
            declared = declared_size(source, handle)
            if declared is not None:
                headers["Content-Length"] = str(declared)
            self._t.request(
                "PUT",
                url,
                content=_chunks(handle, declared, source),
                headers=headers,
                timeout=TRANSFER_TIMEOUT,
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
        url = download_url(self.get(job_id).data)
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
        staged = staged_path(target)
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
        raise_if_failed(self.get(job_id).data)


@contextmanager
def open_source(source: Source) -> Iterator[IO[bytes]]:
    """A path opened for reading (closed on leaving), or the binary file given."""
    if isinstance(source, str | Path):
        with Path(source).open("rb") as handle:
            yield handle
    else:
        yield source


def _chunks(handle: IO[bytes], declared: int | None, source: Source) -> Iterator[bytes]:
    sent = 0
    while True:
        chunk = handle.read(CHUNK)
        sent = checked_chunk(chunk, sent, declared, source)
        if not chunk:
            return
        yield chunk


def _abort_quietly(jobs: Jobs, job_id: str) -> None:
    with contextlib.suppress(ScorecastError):  # the upload error is the one worth reporting
        jobs.abort(job_id)
