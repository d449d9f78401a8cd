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
connection: the use cases (``service.job_uploads``, ``service.output_follower``) are short
transactions of their own, run in the thread pool between pieces of the body.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Request
from fastapi import Path as PathParameter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from scorecast.api.auth import streaming_caller
from scorecast.api.deps import engine_of, settings
from scorecast.api.transactions import StreamingRoute
from scorecast.connectors import localfile_files
from scorecast.errors import InvalidInput
from scorecast.service import job_uploads
from scorecast.service.output_follower import OutputFollower, check_downloadable

router = APIRouter(tags=["Local file upload and download"], route_class=StreamingRoute)

_WRITE_BYTES = 1 << 20
#: how often a download without new bytes looks at the job again (seconds)
POLL_SECONDS = 0.05


# --- uploads ------------------------------------------------------------------------------------


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


def _write(handle: BinaryIO | localfile_files.InputUpload, pieces: list[bytes]) -> None:
    handle.writelines(pieces)
    handle.flush()


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
    caller = await streaming_caller(request)
    engine, app_settings = engine_of(request), settings(request)
    await run_in_threadpool(job_uploads.upload_target, engine, caller, job_id, multipart=False)
    body = request.stream()
    first = b""
    async for piece in body:
        if piece:
            first = piece
            break
    if not first:
        raise InvalidInput("the uploaded file is empty", {"body": "is empty"})
    handle = await run_in_threadpool(
        job_uploads.begin_upload, engine, app_settings, caller, job_id, _expected_size(request)
    )
    try:
        size = await _copy_body(body, handle, first)
        await run_in_threadpool(handle.close)
    except BaseException as exc:
        reason = "the client went away" if isinstance(exc, ClientDisconnect) else str(exc)
        await run_in_threadpool(
            job_uploads.fail_upload, app_settings, job_id, reason or type(exc).__name__
        )
        raise
    await run_in_threadpool(job_uploads.end_upload, engine, app_settings, job_id, size)
    return {"message": f"{size} bytes received"}


@router.put(
    "/batchPredictions/{job_id}/csvUpload/part/{partNumber}/",
    status_code=202,
    name="upload_csv_part",
)
async def upload_csv_part(
    job_id: str,
    part_number: Annotated[int, PathParameter(alias="partNumber", ge=0)],
    request: Request,
) -> dict[str, Any]:
    """One part of a multipart upload (numbered from 0; each part repeats the header row)."""
    caller = await streaming_caller(request)
    engine, app_settings = engine_of(request), settings(request)
    await run_in_threadpool(job_uploads.upload_target, engine, caller, job_id, multipart=True)
    received = job_uploads.part_file(app_settings, job_id, part_number)
    try:
        size = await _receive(request, received)
        await run_in_threadpool(job_uploads.store_part, app_settings, job_id, part_number, received)
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
    caller = await streaming_caller(request)
    engine, app_settings = engine_of(request), settings(request)
    csv_settings = await run_in_threadpool(
        job_uploads.upload_target, engine, caller, job_id, multipart=True
    )
    size = await run_in_threadpool(
        job_uploads.accept_parts, engine, app_settings, caller, job_id, csv_settings
    )
    return {"message": f"parts joined: {size} bytes; the job is queued"}


# --- downloads ----------------------------------------------------------------------------------


async def _stream(follower: OutputFollower) -> Any:
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
    caller = await streaming_caller(request)
    engine, app_settings = engine_of(request), settings(request)
    await run_in_threadpool(check_downloadable, engine, caller, job_id)
    follower = OutputFollower(app_settings, engine, job_id)
    return StreamingResponse(
        _stream(follower),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="result-{job_id}.csv"',
            "Cache-Control": "no-store",
        },
    )
