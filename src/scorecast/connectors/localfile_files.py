"""The ``localFile`` files in storage: a job's uploaded input, its output, and the uploads.

The API (uploads, downloads) and the ``localFile`` adapter (``connectors.localfile``, run in the
job process, possibly on another server) share them through the storage
(``connectors.storage``, keys from ``home_layout``); this module needs no data library, so the
API does not load one.

- **Input**: segments (``storage.segments``) written as the body streams in, so the job reads
  its input while it is uploaded, on any server; ``input.complete`` (the size) ends it,
  ``input.failed`` (the reason) breaks it off, ``input.expected`` announces the size. Parts of
  a multipart upload are stored whole and joined into the input's segments on finalize,
  dropping the header line of every part after the first (after checking it is the same).
- **Output**: attempt ``n`` writes segments under ``results/<job>/attempt-<n>/`` as it goes (a
  download follows them); ``commit()`` writes ``results/<job>/result.json`` naming the attempt,
  one atomic write: the result exists only once committed, and a retry finds that commit. A
  retried attempt removes the segments of earlier attempts that did not commit.

The worker passes the job id and attempt number in ``ConnectorContext.template`` (``job_id``,
``attempt``).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from scorecast import home_layout as layout
from scorecast.config import Settings
from scorecast.connectors.storage import BlobMissing, BlobStore, open_storage
from scorecast.connectors.storage.segments import SegmentReader, SegmentWriter
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import ConnectorError, InvalidInput
from scorecast.formats.csv_blocks import first_record

_COPY_BYTES = 1 << 20
MAX_PARTS = layout.MAX_PARTS
COMPLETE, FAILED, EXPECTED = layout.COMPLETE, layout.FAILED, layout.EXPECTED
#: An intake waiting for upload bytes gives up after this long without any.
STALL_SECONDS = 600.0
#: how long a reader waits before looking for the next segment again (seconds)
POLL_SECONDS = 0.05


def storage(settings: Settings) -> BlobStore:
    return open_storage(settings)


# --- uploads ------------------------------------------------------------------------------------


def staging_file(settings: Settings, job_id: str, suffix: str) -> Path:
    """A fresh local temporary file name for a received body (the folder is created)."""
    layout.upload_folder(job_id)  # checks the id
    folder = layout.incoming_folder(settings.home)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".{job_id}-{os.urandom(6).hex()}{suffix}"


def _marker(settings: Settings, job_id: str, name: str, text: str) -> None:
    storage(settings).put_bytes(layout.input_marker(job_id, name), text.encode())


def read_marker(settings: Settings, job_id: str, name: str) -> str | None:
    """The text of an input marker; None when it is not there."""
    try:
        return storage(settings).read_bytes(layout.input_marker(job_id, name)).decode()
    except BlobMissing:
        return None


class InputUpload(SegmentWriter):
    """The job's input being written; ``flush`` publishes what was written (the API flushes
    about every MiB of body, so that a body that pauses is readable up to where it paused),
    ``close`` the rest."""

    def flush(self) -> None:
        if not self.closed:
            self.publish()

    def close(self) -> None:
        if not self.closed:
            self.publish()
        super().close()


def begin_streamed_upload(settings: Settings, job_id: str, expected: int | None) -> InputUpload:
    """Open the job's input for a body that streams in while the job may already run.

    Readers (``InputStream``) follow its segments until ``end_streamed_upload``.
    """
    store = storage(settings)
    for name in (COMPLETE, FAILED, EXPECTED):
        store.delete(layout.input_marker(job_id, name))
    store.delete_prefix(layout.input_segments(job_id))
    if expected is not None:
        _marker(settings, job_id, EXPECTED, str(expected))
    return InputUpload(store, layout.input_segments(job_id))


def end_streamed_upload(
    settings: Settings, job_id: str, failure: str | None = None, size: int | None = None
) -> None:
    """Mark the streamed body complete (``failure`` None; ``size`` its bytes, counted from its
    segments when not given) or broken off with ``failure``."""
    if failure is None:
        if size is None:
            store = storage(settings)
            keys = store.keys(layout.input_segments(job_id))
            size = sum(store.size(key) or 0 for key in keys)
        _marker(settings, job_id, COMPLETE, str(size))
    else:
        _marker(settings, job_id, FAILED, failure)


def input_size(settings: Settings, job_id: str) -> int | None:
    """The input's size: final once the upload is complete, else as announced (or None)."""
    for name in (COMPLETE, EXPECTED):
        text = read_marker(settings, job_id, name)
        if text is not None:
            try:
                return int(text)
            except ValueError:
                return None
    return None


class InputStream(io.RawIOBase):
    """Reads a job's input as it is uploaded: at the segments' current end it waits for more
    until the upload is marked complete (then: end of file) or failed (ConnectorError)."""

    def __init__(
        self,
        settings: Settings,
        job_id: str,
        stall_seconds: float = STALL_SECONDS,
        waiting: Callable[[], None] | None = None,
    ) -> None:
        self._settings, self._job_id = settings, job_id
        self._reader = SegmentReader(storage(settings), layout.input_segments(job_id))
        self._stall_seconds = stall_seconds
        self._waiting = waiting

    @property
    def position(self) -> int:
        return self._reader.position

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        idle_since = time.monotonic()
        while True:
            data = self._reader.read(len(view))
            if not data and read_marker(self._settings, self._job_id, COMPLETE) is not None:
                data = self._reader.read(len(view))  # segments written before the marker
                view[: len(data)] = data
                return len(data)
            if data:
                view[: len(data)] = data
                return len(data)
            failed = read_marker(self._settings, self._job_id, FAILED)
            if failed is not None:
                raise ConnectorError(
                    f"the upload of the input broke off: {failed or 'the client went away'}"
                )
            if time.monotonic() - idle_since > self._stall_seconds:
                raise ConnectorError(
                    f"the upload of the input sent nothing for {self._stall_seconds:.0f} s"
                )
            if self._waiting is not None:
                self._waiting()
            time.sleep(POLL_SECONDS)

    def close(self) -> None:
        self._reader.close()
        super().close()


def store_part(settings: Settings, job_id: str, number: int, received: Path) -> None:
    """Store a received part; sending a part number again replaces that part."""
    with received.open("rb") as source:
        storage(settings).put(layout.part_key(job_id, number), source)


def assemble_parts(settings: Settings, job_id: str, csv_settings: CsvSettings) -> int:
    """Join the parts into the job's input and mark it complete; returns its size in bytes.

    Parts must be numbered 0..N-1 without gaps; each part after the first must start with the
    same header line as part 0, which is dropped. Blank lines a part starts with are dropped
    (its header is the line after them); a part holding nothing else is skipped, and the first
    part that is not gives the header. ``InvalidInput`` names the offending part.
    """
    store = storage(settings)
    folder = layout.parts_folder(job_id)
    numbers = sorted(int(key[len(folder) :]) for key in store.keys(folder))
    if not numbers:
        raise InvalidInput(
            "no part was uploaded: PUT csvUpload/part/0/ (and the next parts) first",
            {"parts": "none uploaded"},
        )
    missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
    if missing:
        raise InvalidInput(
            f"part {missing[0]} is missing: parts are numbered from 0 without gaps",
            {"parts": f"part {missing[0]} is missing"},
        )
    segments = layout.input_segments(job_id)
    store.delete_prefix(segments)
    out = SegmentWriter(store, segments)
    try:
        _join(store, job_id, numbers, csv_settings, out)
        out.publish()
    except BaseException:
        store.delete_prefix(segments)
        raise
    end_streamed_upload(settings, job_id, size=out.size)
    return out.size


def _join(
    store: BlobStore, job_id: str, numbers: list[int], csv_settings: CsvSettings, out: Any
) -> None:
    header: bytes | None = None
    header_part = 0
    last = b"\n"
    for number in numbers:
        with store.open_from(layout.part_key(job_id, number)) as part:
            line, rest = first_record(part, csv_settings, _skip_blank_lines(part))
            if not line:
                continue  # an empty part: no bytes, or only blank lines
            if header is None:
                header, header_part = line, number
            elif _plain(line) != _plain(header):
                raise InvalidInput(
                    f"part {number} starts with a different header than part {header_part}",
                    {"parts": f"part {number}: header differs from part {header_part}"},
                )
            else:
                line = b""
            if not last.endswith(b"\n"):
                out.write(b"\n")
            for piece in (line, rest):
                if piece:
                    out.write(piece)
                    last = piece
            while piece := part.read(_COPY_BYTES):
                out.write(piece)
                last = piece


def _plain(line: bytes) -> bytes:
    return line.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")


def _skip_blank_lines(handle: BinaryIO) -> bytes:
    """Read past the blank lines a part starts with: the bytes read after them (empty when the
    part holds nothing else)."""
    while piece := handle.read(64 * 1024):
        start = piece.lstrip(b"\r\n")
        if start:
            return start
    return b""


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Committed:
    """A job's committed result: the attempt whose segments it is."""

    attempt: int
    segments: int
    size: int
    committed_at: str


def committed_result(settings: Settings, job_id: str) -> Committed | None:
    try:
        raw = storage(settings).read_bytes(layout.result_manifest(job_id))
    except BlobMissing:
        return None
    data = json.loads(raw)
    return Committed(
        int(data["attempt"]), int(data["segments"]), int(data["size"]), str(data["committedAt"])
    )


def commit_result(settings: Settings, job_id: str, attempt: int, written: SegmentWriter) -> None:
    """Publish the rest of ``written`` and make it the job's result (one atomic write)."""
    written.publish()
    manifest = {
        "attempt": attempt,
        "segments": written.segments,
        "size": written.size,
        "committedAt": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
    }
    storage(settings).put_bytes(layout.result_manifest(job_id), json.dumps(manifest).encode())


def attempt_reader(
    settings: Settings, job_id: str, attempt: int, last: int | None = None
) -> SegmentReader:
    """The output of ``attempt`` as far as it is written (all of it when ``last`` is known)."""
    return SegmentReader(storage(settings), layout.attempt_segments(job_id, attempt), last)


def result_chunks(settings: Settings, job_id: str) -> Iterator[bytes] | None:
    """The committed result in pieces of about 1 MiB; None when there is none."""
    committed = committed_result(settings, job_id)
    if committed is None:
        return None
    reader = attempt_reader(settings, job_id, committed.attempt, committed.segments)

    def pieces() -> Iterator[bytes]:
        try:
            while data := reader.read(_COPY_BYTES):
                yield data
        finally:
            reader.close()

    return pieces()


def attempts_written(settings: Settings, job_id: str) -> set[int]:
    """The attempts of a job that left output segments."""
    found = set()
    for key in storage(settings).keys(layout.result_folder(job_id)):
        owner = layout.attempt_of_segment(key)
        if owner is not None:
            found.add(owner[1])
    return found


def discard_attempt(settings: Settings, job_id: str, attempt: int) -> None:
    storage(settings).delete_prefix(layout.attempt_segments(job_id, attempt))


def delete_results(settings: Settings, job_id: str) -> None:
    """Delete a job's results (every attempt's output and the commit)."""
    storage(settings).delete_prefix(layout.result_folder(job_id))


def remove_job_files(settings: Settings, job_id: str) -> None:
    """Delete a job's uploaded input, parts and results."""
    store = storage(settings)
    for prefix in layout.job_folders(job_id):
        store.delete_prefix(prefix)
