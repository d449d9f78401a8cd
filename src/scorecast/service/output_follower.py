"""Following a ``localFile`` job's output while it is written, across attempts (reference §6.4).

The output is read from its segments in storage (``connectors.localfile_files``), so any API
server streams a job that a worker on another server runs. The stream ends when the job ends; a
job that ends ABORTED or FAILED ends it early (the client's final status check reports it). If
the job's worker dies and another attempt takes over, the stream goes on from the new attempt's
output once it has verified that the bytes already sent are the same; otherwise ``StreamCut``
(an error for the client, never a silently wrong file).

Each look at the job is a short read-only transaction of its own: following holds no
transaction while the bytes are sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine, select

from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.connectors.storage.segments import SegmentReader
from scorecast.domain.job_statuses import shown_status, wire_status
from scorecast.errors import Conflict, Gone, InvalidInput, NotFound
from scorecast.service import jobs
from scorecast.service.caller import Caller
from scorecast.store.db import session_scope
from scorecast.store.models import Job

#: bytes read from the output per step
READ_BYTES = 1 << 20


class StreamCut(Exception):
    """The bytes already sent cannot be continued: the connection must be cut."""


def check_downloadable(engine: Engine, caller: Caller, job_id: str) -> None:
    """The caller's job has a ``localFile`` output that is or will be written; else the error
    that says why not (``Gone`` once retention deleted it, ``Conflict`` before it starts,
    ``NotFound`` naming the status when it ended without a result)."""
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


@dataclass(frozen=True)
class _State:
    status: str
    attempt: int


def _state(engine: Engine, job_id: str) -> _State:
    with session_scope(engine, deferred=True) as session:
        row = session.execute(select(Job.status, Job.attempt).where(Job.id == job_id)).one_or_none()
        if row is None:
            return _State("ABORTED", 0)  # deleted meanwhile
        return _State(row[0], row[1])


class OutputFollower:
    """Follows one job's output segments across attempts (see the module docstring).

    ``step()`` is called again and again (in a worker thread: it blocks on storage and the
    store) until it says the stream is over; ``close()`` always ends it.
    """

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

    def step(self) -> tuple[bytes, bool]:
        """(bytes to send now, whether the stream is over); no bytes and not over: nothing new
        yet, look again later. ``StreamCut`` when what was sent cannot be continued."""
        if self.reader is not None:
            data = self._read()
            if data:
                return data, False
        state = _state(self.engine, self.job_id)
        if state.status == "COMPLETED":
            committed = localfile_files.committed_result(self.settings, self.job_id)
            if committed is None:
                raise StreamCut("the job completed without a committed result")
            if self.reader is not None and self.attempt == committed.attempt:
                self.reader.last = committed.segments  # the same segments: go on to their end
                return self._drain()
            if not self._switch(committed.attempt, committed.segments):
                raise StreamCut("the completed result does not continue the bytes sent")
            return self._drain()
        if state.status != "RUNNING":
            return b"", True  # ABORTED or FAILED: the client's status check reports it
        if self.attempt != state.attempt:
            switched = self._switch(state.attempt, None)
            if switched is False:
                raise StreamCut("a retried attempt wrote different bytes")
            if switched:
                return self._read(), False
        return b"", False

    def _switch(self, attempt: int, last: int | None) -> bool | None:
        """Continue from ``attempt``'s output; False when it does not start with what was
        sent, None when it is not written that far yet."""
        reader = localfile_files.attempt_reader(self.settings, self.job_id, attempt, last)
        digest, seen = hashlib.sha256(), 0
        while seen < self.sent:
            piece = reader.read(min(READ_BYTES, self.sent - seen))
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

    def _read(self) -> bytes:
        assert self.reader is not None
        data = self.reader.read(READ_BYTES)
        if data:
            self.sent += len(data)
            self.digest.update(data)
        return data

    def _drain(self) -> tuple[bytes, bool]:
        data = self._read()
        return data, not data
