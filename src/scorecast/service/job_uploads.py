"""A ``localFile`` job's input, uploaded through the API (reference §6.2).

The body streams for as long as the client sends it, so no use case here holds a transaction
for it: each function is one short transaction of its own (``session_scope``), run between
pieces of the body, and the route (``api/routes/localfile.py``) only moves the bytes.

- one body (``PUT csvUpload/``): ``upload_target``, then ``begin_upload`` with the first bytes
  (the job becomes claimable at once and reads the input while it streams in), then
  ``end_upload`` or ``fail_upload``;
- parts (``intakeSettings.multipart``): ``upload_target`` and ``store_part`` per part, then
  ``accept_parts`` joins them and makes the job claimable.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.domain.csv_settings import CsvSettings
from scorecast.domain.job_statuses import shown_status, wire_status
from scorecast.errors import Conflict, InvalidInput
from scorecast.home_layout import part_key
from scorecast.service import jobs
from scorecast.service.caller import Caller
from scorecast.store.db import session_scope
from scorecast.store.models import Job
from scorecast.store.org_scope import in_org
from scorecast.store.types import utcnow


def upload_target(engine: Engine, caller: Caller, job_id: str, *, multipart: bool) -> CsvSettings:
    """Check that the caller's job waits for this kind of upload; its CSV settings."""
    with session_scope(engine) as session:
        job = jobs.get_job(session, caller, job_id)
        _check_uploadable(job, multipart)
        return CsvSettings.from_wire(job.spec.get("csvSettings"))


def begin_upload(
    engine: Engine, settings: Settings, caller: Caller, job_id: str, expected: int | None
) -> localfile_files.InputUpload:
    """Open the job's input for the body and make the job claimable at once (it streams);
    ``expected``: the body's announced size, if any."""
    with session_scope(engine, immediate=True) as session:
        job = _uploadable(session, caller, job_id, multipart=False)
        handle = localfile_files.begin_streamed_upload(settings, job_id, expected)
        _input_ready(
            session,
            job,
            expected,
            "Upload of the input started; the job runs as the bytes arrive",
            f"Upload of the input started by {caller.username}",
        )
        return handle


def end_upload(engine: Engine, settings: Settings, job_id: str, size: int) -> None:
    """The whole body is stored (``size`` bytes): mark the input complete and note it."""
    localfile_files.end_streamed_upload(settings, job_id, None, size)
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.intake_size = size
            jobs.add_log(session, job_id, f"Input file of {size} bytes received")


def fail_upload(settings: Settings, job_id: str, reason: str) -> None:
    """The body broke off: the input ends failed, naming ``reason``; the job reading it fails."""
    localfile_files.end_streamed_upload(settings, job_id, reason)


def store_part(settings: Settings, job_id: str, part_number: int, received: Path) -> None:
    """Keep part ``part_number`` of a multipart upload, received in the local file ``received``
    (a file of ``part_file``)."""
    localfile_files.store_part(settings, job_id, part_number, received)


def part_file(settings: Settings, job_id: str, part_number: int) -> Path:
    """A fresh local file to receive part ``part_number`` in (``InvalidInput`` naming
    ``partNumber`` when it is out of range); the caller removes it."""
    part_key(job_id, part_number)  # checks the number
    return localfile_files.staging_file(settings, job_id, ".part")


def accept_parts(
    engine: Engine, settings: Settings, caller: Caller, job_id: str, csv_settings: CsvSettings
) -> int:
    """Join the parts into the job's input (headers of parts ≥ 1 dropped) and make the job
    claimable, in one transaction holding the job's row, unless the job changed meanwhile;
    the input's size."""
    with session_scope(engine, immediate=True) as session:
        job = _uploadable(session, caller, job_id, multipart=True)
        size = localfile_files.assemble_parts(settings, job_id, csv_settings)
        _input_ready(
            session,
            job,
            size,
            f"Input received at {utcnow():%Y-%m-%d %H:%M:%S}; waiting for a worker",
            f"Input file of {size} bytes received from {caller.username}",
        )
        return size


def _uploadable(session: Session, caller: Caller, job_id: str, *, multipart: bool) -> Job:
    """The caller's job, its row held until the transaction ends, if it waits for this upload."""
    job = in_org(session, Job, caller.org_id, job_id, lock=True)
    _check_uploadable(job, multipart)
    return job


def _input_ready(session: Session, job: Job, size: int | None, details: str, log: str) -> None:
    """The job's input is (being) stored: the job may be claimed."""
    job.intake_ready = True
    job.intake_size = size
    job.status_details = details
    jobs.add_log(session, job.id, log)


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
