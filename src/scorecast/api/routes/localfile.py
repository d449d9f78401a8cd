"""Uploads and downloads of ``localFile`` jobs (reference §6.2, §6.4).

- ``PUT batchPredictions/{id}/csvUpload/``: the whole input as the body, with a
  ``Content-Length`` or chunked. The job becomes claimable with the first bytes and reads the
  body as it streams in (DataRobot's job is RUNNING while its intake streams); the answer, 202,
  comes once the whole body is stored (the client uploads synchronously).
- ``PUT …/csvUpload/part/{n}/`` (202) and ``POST …/csvUpload/finalizeMultipart/`` (202) for
  ``intakeSettings.multipart``: parts are numbered from 0, each repeats the header row, which is
  dropped from parts ≥ 1 on finalize.
- ``GET batchPredictions/{id}/download/``: the output as ``text/csv``, streamed from the moment
  the job runs while the output grows (its segments in storage, ``connectors.localfile_files``:
  any API server streams a job that a worker on another server runs), never content-encoded.
  The stream ends when the job ends; a job that ends ABORTED or FAILED ends the stream early,
  and the client's final status check reports it. If the job's worker dies and another
  attempt takes over, the stream goes on from the new attempt's output once it has verified
  that the bytes already sent are the same; otherwise the connection is cut (an error for the
  client, never a silently wrong file).

Handlers are ``async`` so that long bodies and streams hold no worker thread and no database
connection; every database step is a short transaction run in the thread pool.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from scorecast.api.auth import token_from_header
from scorecast.api.transactions import StreamingRoute
from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.connectors.storage.segments import SegmentReader
from scorecast.domain.csv_settings import CsvSettings
from scorecast.domain.job_statuses import shown_status, wire_status
from scorecast.errors import Conflict, Gone, InvalidInput, NotFound
from scorecast.home_layout import part_key
from scorecast.service import accounts, jobs
from scorecast.service.caller import Caller
from scorecast.store.db import session_scope
from scorecast.store.models import Job
from scorecast.store.types import utcnow

router = APIRouter(tags=["Local file upload and download"], route_class=StreamingRoute)

_WRITE_BYTES = 1 << 20
_READ_BYTES = 1 << 20
#: how often a download without new bytes looks at the job again (seconds)
POLL_SECONDS = 0.05


def _settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def _engine(request: Request) -> Engine:
    value: Engine = request.app.state.engine
    return value


def _authenticate(engine: Engine, authorization: str | None) -> Caller:
    return accounts.authenticate_reading(engine, token_from_header(authorization))


async def _caller(request: Request) -> Caller:
    return await run_in_threadpool(
        _authenticate, _engine(request), request.headers.get("authorization")
    )


# --- uploads ------------------------------------------------------------------------------------


def _upload_target(engine: Engine, caller: Caller, job_id: str, multipart: bool) -> CsvSettings:
    """Check that the job waits for this kind of upload; its CSV settings."""
    with session_scope(engine) as session:
        job = jobs.get_job(session, caller, job_id)
        _check_uploadable(job, multipart)
        return CsvSettings.from_wire(job.spec.get("csvSettings"))


def _check_uploadable(job: Job, multipart: bool) -> None:
    intake = job.spec.get("intakeSettings") or {}
    if intake.get("type") != "localFile":
        raise InvalidInput(
            f"job {job.id} reads its input from {intake.get('type')!r}, not from an upload",
            {"intakeSettings": {"type": "is not localFile"}},
        )
    if job.status != "INITIALIZING" or job.intake_ready:
        state = (
            "already received its input" if job.intake_ready else f"is {shown_status(job.status)}"
        )
        raise Conflict(
            f"job {job.id} {state}; it takes no more uploads", {"status": wire_status(job.status)}
        )
    if bool(intake.get("multipart")) != multipart:
        expected = (
            "parts (PUT csvUpload/part/<n>/, then POST csvUpload/finalizeMultipart/)"
            if intake.get("multipart")
            else "one body (PUT csvUpload/)"
        )
        raise InvalidInput(
            f"job {job.id} expects its input as {expected}",
            {"intakeSettings": {"multipart": f"is {bool(intake.get('multipart'))}"}},
        )


async def _receive(request: Request, target: Path) -> int:
    """Store the request body in ``target``; the number of bytes."""
    handle = await run_in_threadpool(target.open, "wb")
    try:
        return await _copy_body(request.stream(), handle)
    except ClientDisconnect:
        handle.close()
        target.unlink(missing_ok=True)
        raise
    finally:
        handle.close()


async def _copy_body(
    body: AsyncIterator[bytes], handle: BinaryIO | localfile_files.InputUpload, first: bytes = b""
) -> int:
    """Write ``first`` and the rest of ``body`` to ``handle`` in writes of about
    ``_WRITE_BYTES`` (the pieces are written as they came, never copied into one buffer),
    flushing after each so that a reader following the file sees them; the bytes written."""
    pieces, pending, size = [first], len(first), 0
    async for piece in body:
        pieces.append(piece)
        pending += len(piece)
        if pending >= _WRITE_BYTES:
            await run_in_threadpool(_write, handle, pieces)
            size, pieces, pending = size + pending, [], 0
    if pending:
        await run_in_threadpool(_write, handle, pieces)
    return size + pending


def _begin_upload(
    engine: Engine, settings: Settings, caller: Caller, job_id: str, expected: int | None
) -> localfile_files.InputUpload:
    """Open the job's input for the body and make the job claimable at once (it streams)."""
    with session_scope(engine, immediate=True) as session:
        job = _locked_job(session, caller, job_id)
        _check_uploadable(job, False)
        handle = localfile_files.begin_streamed_upload(settings, job_id, expected)
        job.intake_ready = True
        job.intake_size = expected
        job.status_details = "Upload of the input started; the job runs as the bytes arrive"
        jobs.add_log(session, job.id, f"Upload of the input started by {caller.username}")
        return handle


def _end_upload(engine: Engine, job_id: str, size: int) -> None:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.intake_size = size
            jobs.add_log(session, job_id, f"Input file of {size} bytes received")


def _locked_job(session: Any, caller: Caller, job_id: str) -> Job:
    query = select(Job).where(Job.id == job_id, Job.org_id == caller.org_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    job: Job | None = session.scalars(query).one_or_none()
    if job is None:
        raise NotFound(f"batch prediction job {job_id!r} not found", {"id": "not found"})
    return job


def _expected_size(request: Request) -> int | None:
    try:
        value = int(request.headers.get("content-length", ""))
    except ValueError:
        return None
    return value if value > 0 else None


@router.put("/batchPredictions/{job_id}/csvUpload/", status_code=202, name="upload_csv")
async def upload_csv(job_id: str, request: Request) -> dict[str, Any]:
    """The job's whole input as the body (``Content-Length`` or chunked).

    The job is queued as soon as the first bytes arrive and reads the body while it streams
    in (so a long upload does not hold the download link back); the answer comes once the
    whole body is stored. A body that breaks off fails the job, naming the cause.
    """
    caller = await _caller(request)
    engine, settings = _engine(request), _settings(request)
    await run_in_threadpool(_upload_target, engine, caller, job_id, False)
    body = request.stream()
    first = b""
    async for piece in body:
        if piece:
            first = piece
            break
    if not first:
        raise InvalidInput("the uploaded file is empty", {"body": "is empty"})
    handle = await run_in_threadpool(
        _begin_upload, engine, settings, caller, job_id, _expected_size(request)
    )
    try:
        size = await _copy_body(body, handle, first)
        await run_in_threadpool(handle.close)
    except BaseException as exc:
        reason = "the client went away" if isinstance(exc, ClientDisconnect) else str(exc)
        await run_in_threadpool(
            localfile_files.end_streamed_upload, settings, job_id, reason or type(exc).__name__
        )
        raise
    await run_in_threadpool(localfile_files.end_streamed_upload, settings, job_id, None, size)
    await run_in_threadpool(_end_upload, engine, job_id, size)
    return {"message": f"{size} bytes received"}


def _write(handle: BinaryIO | localfile_files.InputUpload, pieces: list[bytes]) -> None:
    handle.writelines(pieces)
    handle.flush()


def _accept_input(engine: Engine, caller: Caller, job_id: str, publish: Callable[[], int]) -> int:
    """Run ``publish`` (it puts the input in place and returns its size) and make the job
    claimable, in one transaction holding the job's row, unless the job changed meanwhile."""
    with session_scope(engine, immediate=True) as session:
        job = _locked_job(session, caller, job_id)
        _check_uploadable(job, True)
        size = publish()
        job.intake_ready = True
        job.intake_size = size
        now = utcnow()
        job.status_details = f"Input received at {now:%Y-%m-%d %H:%M:%S}; waiting for a worker"
        jobs.add_log(session, job.id, f"Input file of {size} bytes received from {caller.username}")
        return size


@router.put(
    "/batchPredictions/{job_id}/csvUpload/part/{part_number}/",
    status_code=202,
    name="upload_csv_part",
)
async def upload_csv_part(job_id: str, part_number: int, request: Request) -> dict[str, Any]:
    """One part of a multipart upload (numbered from 0; each part repeats the header row)."""
    caller = await _caller(request)
    engine, settings = _engine(request), _settings(request)
    await run_in_threadpool(_upload_target, engine, caller, job_id, True)
    part_key(job_id, part_number)  # checks the number
    received = localfile_files.staging_file(settings, job_id, ".part")
    try:
        size = await _receive(request, received)
        await run_in_threadpool(localfile_files.store_part, settings, job_id, part_number, received)
    finally:
        received.unlink(missing_ok=True)
    return {"message": f"part {part_number}: {size} bytes received"}


@router.post(
    "/batchPredictions/{job_id}/csvUpload/finalizeMultipart/",
    status_code=202,
    name="finalize_multipart_upload",
)
async def finalize_multipart(job_id: str, request: Request) -> dict[str, Any]:
    """Join the parts into the job's input (headers of parts ≥ 1 dropped); the job is queued."""
    caller = await _caller(request)
    engine, settings = _engine(request), _settings(request)
    csv_settings = await run_in_threadpool(_upload_target, engine, caller, job_id, True)

    def assemble() -> int:
        return localfile_files.assemble_parts(settings, job_id, csv_settings)

    size = await run_in_threadpool(_accept_input, engine, caller, job_id, assemble)
    return {"message": f"parts joined: {size} bytes; the job is queued"}


# --- downloads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    status: str
    attempt: int


def _download_start(engine: Engine, caller: Caller, job_id: str) -> _State:
    with session_scope(engine) as session:
        job = jobs.get_job(session, caller, job_id)
        output = job.spec.get("outputSettings") or {}
        if output.get("type") != "localFile":
            raise InvalidInput(
                f"job {job.id} writes its output to {output.get('type')!r}; "
                "only localFile output is downloaded",
                {"outputSettings": {"type": "is not localFile"}},
            )
        if job.results_deleted:
            raise Gone(
                f"the results of job {job.id} were deleted by the retention policy",
                {"resultsDeleted": "the results of this job were deleted"},
            )
        if job.status == "INITIALIZING":
            raise Conflict(
                f"job {job.id} has not started yet; its download opens when it is RUNNING",
                {"status": job.status},
            )
        if job.status in ("ABORTED", "FAILED"):
            raise NotFound(
                f"job {job.id} is {shown_status(job.status)}: it has no result "
                f"({job.status_details})",
                {"status": wire_status(job.status)},
            )
        return _State(job.status, job.attempt)


def _state(engine: Engine, job_id: str) -> _State:
    with session_scope(engine, deferred=True) as session:
        row = session.execute(select(Job.status, Job.attempt).where(Job.id == job_id)).one_or_none()
        if row is None:
            return _State("ABORTED", 0)  # deleted meanwhile
        return _State(row[0], row[1])


class _CutStreamError(Exception):
    """The bytes already sent cannot be continued: the connection is cut."""


class _Follower:
    """Follows a job's output segments across attempts; see the module docstring."""

    def __init__(self, settings: Settings, engine: Engine, job_id: str) -> None:
        self.settings, self.engine, self.job_id = settings, engine, job_id
        self.sent = 0
        self.digest = hashlib.sha256()
        self.reader: SegmentReader | None = None
        self.attempt: int | None = None

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _switch(self, attempt: int, last: int | None) -> bool | None:
        """Continue from ``attempt``'s output; False when it does not start with what was
        sent, None when it is not written that far yet."""
        reader = localfile_files.attempt_reader(self.settings, self.job_id, attempt, last)
        digest, seen = hashlib.sha256(), 0
        while seen < self.sent:
            piece = reader.read(min(_READ_BYTES, self.sent - seen))
            if not piece:
                reader.close()
                return None
            digest.update(piece)
            seen += len(piece)
        if self.sent and digest.digest() != self.digest.digest():
            reader.close()
            return False
        self.close()
        self.reader, self.attempt = reader, attempt
        return True

    def read(self) -> bytes:
        assert self.reader is not None
        data = self.reader.read(_READ_BYTES)
        if data:
            self.sent += len(data)
            self.digest.update(data)
        return data

    def step(self) -> tuple[bytes, bool]:
        """(bytes to send now, whether the stream is over)."""
        if self.reader is not None:
            data = self.read()
            if data:
                return data, False
        state = _state(self.engine, self.job_id)
        if state.status == "COMPLETED":
            committed = localfile_files.committed_result(self.settings, self.job_id)
            if committed is None:
                raise _CutStreamError("the job completed without a committed result")
            if self.reader is not None and self.attempt == committed.attempt:
                self.reader.last = committed.segments  # the same segments: go on to their end
                return self._drain()
            if not self._switch(committed.attempt, committed.segments):
                raise _CutStreamError("the completed result does not continue the bytes sent")
            return self._drain()
        if state.status != "RUNNING":
            return b"", True  # ABORTED or FAILED: the client's status check reports it
        if self.attempt != state.attempt:
            switched = self._switch(state.attempt, None)
            if switched is False:
                raise _CutStreamError("a retried attempt wrote different bytes")
            if switched:
                return self.read(), False
        return b"", False

    def _drain(self) -> tuple[bytes, bool]:
        data = self.read()
        return data, not data


async def _stream(follower: _Follower) -> Any:
    try:
        while True:
            data, done = await run_in_threadpool(follower.step)
            if data:
                yield data
            elif done:
                return
            else:
                await asyncio.sleep(POLL_SECONDS)
    finally:
        follower.close()


@router.get("/batchPredictions/{job_id}/download/", name="download_batch_prediction")
async def download(job_id: str, request: Request) -> StreamingResponse:
    """The job's output as CSV, streamed while the job runs (see the module docstring)."""
    caller = await _caller(request)
    engine, settings = _engine(request), _settings(request)
    await run_in_threadpool(_download_start, engine, caller, job_id)
    follower = _Follower(settings, engine, job_id)
    return StreamingResponse(
        _stream(follower),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="result-{job_id}.csv"',
            "Cache-Control": "no-store",
        },
    )
