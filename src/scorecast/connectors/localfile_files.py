"""The ``localFile`` files: where an uploaded input and a job's output live, and the uploads.

The API (uploads, downloads) and the ``localFile`` adapter (``connectors.localfile``, run in the
job process) share this layout; this module needs no data library, so the API does not load one.
Layout under the state folder (``job_id`` is a 24-hex id, checked before any path is built):

- ``uploads/<job_id>/input.csv``: the uploaded input, renamed into place once the whole body
  (single PUT) or every part (``finalizeMultipart``) has arrived; never visible half-written.
- ``uploads/<job_id>/parts/<n>.csv``: multipart parts; assembling drops the header line of
  every part after the first (the client repeats it in each part), after checking it is the
  same header.
- ``results/<job_id>/attempt-<n>.csv``: the output of attempt ``n`` while it is written (the
  download streams it as it grows); ``commit()`` renames it to ``results/<job_id>/result.csv``
  and a new attempt first removes the files of earlier attempts, so a retried job never exposes
  a failed attempt's partial output.

The worker passes the job id and attempt number in ``ConnectorContext.template`` (``job_id``,
``attempt``).
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from scorecast.config import Settings
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import ConnectorError, InvalidInput, NotFound

_JOB_ID = re.compile(r"[0-9a-f]{24}")
_COPY_BYTES = 1 << 20
MAX_PARTS = 10_000


def _checked(job_id: str) -> str:
    if not _JOB_ID.fullmatch(job_id):
        raise NotFound(f"batch prediction job {job_id!r} not found", {"id": "not found"})
    return job_id


def upload_dir(settings: Settings, job_id: str) -> Path:
    return settings.uploads_dir / _checked(job_id)


def input_path(settings: Settings, job_id: str) -> Path:
    """The complete uploaded input of a job (exists once the upload finished)."""
    return upload_dir(settings, job_id) / "input.csv"


def part_path(settings: Settings, job_id: str, number: int) -> Path:
    if not 0 <= number < MAX_PARTS:
        raise InvalidInput.at("partNumber", f"must be between 0 and {MAX_PARTS - 1}")
    return upload_dir(settings, job_id) / "parts" / f"{number:05d}.csv"


def result_dir(settings: Settings, job_id: str) -> Path:
    return settings.results_dir / _checked(job_id)


def staging_path(settings: Settings, job_id: str, attempt: int) -> Path:
    """Where attempt ``attempt`` writes its output while it runs."""
    return result_dir(settings, job_id) / f"attempt-{int(attempt)}.csv"


def result_path(settings: Settings, job_id: str) -> Path:
    """The committed output of a job (exists once an attempt committed)."""
    return result_dir(settings, job_id) / "result.csv"


def staging_file(settings: Settings, job_id: str, suffix: str) -> Path:
    """A fresh temporary file name in the job's upload folder (the folder is created)."""
    folder = upload_dir(settings, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".incoming-{os.urandom(6).hex()}{suffix}"


def publish_upload(settings: Settings, job_id: str, received: Path) -> None:
    """Make a completely received body the job's input (atomic rename)."""
    os.replace(received, input_path(settings, job_id))
    _writemarker(settings, job_id, COMPLETE, "")


#: Markers next to ``input.csv``: the upload ended (``COMPLETE``) or broke off (``FAILED``, with
#: the reason); ``EXPECTED`` holds the announced size while a body streams in.
COMPLETE, FAILED, EXPECTED = "input.complete", "input.failed", "input.expected"
#: An intake waiting for upload bytes gives up after this long without any.
STALL_SECONDS = 600.0


def marker(settings: Settings, job_id: str, name: str) -> Path:
    return upload_dir(settings, job_id) / name


def _writemarker(settings: Settings, job_id: str, name: str, text: str) -> None:
    target = marker(settings, job_id, name)
    temporary = target.with_name(f".{name}.{os.urandom(4).hex()}")
    temporary.write_text(text)
    os.replace(temporary, target)


def begin_streamed_upload(settings: Settings, job_id: str, expected: int | None) -> BinaryIO:
    """Open the job's input for a body that streams in while the job may already run.

    Readers (``LocalFileIntake``) follow the file as it grows until ``end_streamed_upload``.
    """
    folder = upload_dir(settings, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (COMPLETE, FAILED, EXPECTED):
        marker(settings, job_id, name).unlink(missing_ok=True)
    if expected is not None:
        _writemarker(settings, job_id, EXPECTED, str(expected))
    return input_path(settings, job_id).open("wb")


def end_streamed_upload(settings: Settings, job_id: str, failure: str | None = None) -> None:
    """Mark the streamed body complete (``failure`` None) or broken off with ``failure``."""
    if failure is None:
        _writemarker(settings, job_id, COMPLETE, "")
    else:
        _writemarker(settings, job_id, FAILED, failure)


class GrowingFile(io.RawIOBase):
    """Reads a file that an upload is still writing: at its current end it waits for more
    bytes until the upload is marked complete (then: end of file) or failed (ConnectorError)."""

    def __init__(
        self,
        path: Path,
        complete: Path,
        failed: Path,
        stall_seconds: float,
        waiting: Callable[[], None] | None = None,
    ) -> None:
        self._file = path.open("rb", buffering=0)
        self._complete, self._failed = complete, failed
        self._stall_seconds = stall_seconds
        self._waiting = waiting
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        idle_since = time.monotonic()
        while True:
            count = self._file.readinto(buffer) or 0
            if count:
                self.position += count
                return count
            if self._complete.exists():
                count = self._file.readinto(buffer) or 0  # bytes written before the marker
                self.position += count
                return count
            if self._failed.exists():
                reason = self._failed.read_text() or "the client went away"
                raise ConnectorError(f"the upload of the input broke off: {reason}")
            if time.monotonic() - idle_since > self._stall_seconds:
                raise ConnectorError(
                    f"the upload of the input sent nothing for {self._stall_seconds:.0f} s"
                )
            if self._waiting is not None:
                self._waiting()
            time.sleep(0.05)

    def close(self) -> None:
        self._file.close()
        super().close()


def publish_part(settings: Settings, job_id: str, number: int, received: Path) -> None:
    """Store a received part; sending a part number again replaces that part."""
    target = part_path(settings, job_id, number)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(received, target)


def assemble_parts(settings: Settings, job_id: str, csv_settings: CsvSettings) -> int:
    """Concatenate the parts into the job's input; returns its size in bytes.

    Parts must be numbered 0..N-1 without gaps; each part after the first must start with the
    same header line as part 0, which is dropped. ``InvalidInput`` names the offending part.
    """
    folder = upload_dir(settings, job_id) / "parts"
    numbers = sorted(int(p.stem) for p in folder.glob("*.csv")) if folder.is_dir() else []
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
    quote = csv_settings.quotechar.encode() if csv_settings.quotechar else b""
    received = staging_file(settings, job_id, ".csv")
    header: bytes | None = None
    try:
        with received.open("wb") as out:
            last = b"\n"
            for number in numbers:
                with part_path(settings, job_id, number).open("rb") as part:
                    line = _header_line(part, quote)
                    if header is None:
                        header = line
                        part.seek(0)
                    elif line.strip(b"\r\n") == b"":
                        continue  # an empty part
                    elif _plain(line) != _plain(header):
                        raise InvalidInput(
                            f"part {number} starts with a different header than part 0",
                            {"parts": f"part {number}: header differs from part 0"},
                        )
                    if not last.endswith(b"\n"):
                        out.write(b"\n")
                    while piece := part.read(_COPY_BYTES):
                        out.write(piece)
                        last = piece
            size = out.tell()
        publish_upload(settings, job_id, received)
    finally:
        received.unlink(missing_ok=True)
    return size


def _plain(line: bytes) -> bytes:
    return line.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")


def _header_line(handle: BinaryIO, quote: bytes) -> bytes:
    """Read the first CSV record (a newline inside quotes does not end it); leave the handle
    just after it. Returns the record with its line end."""
    buffer = bytearray()
    while True:
        piece = handle.read(64 * 1024)
        start = len(buffer)
        buffer += piece
        pos = buffer.find(b"\n", max(start - 1, 0))
        while pos >= 0:
            if not quote or buffer.count(quote, 0, pos) % 2 == 0:
                handle.seek(pos + 1)
                return bytes(buffer[: pos + 1])
            pos = buffer.find(b"\n", pos + 1)
        if not piece:
            return bytes(buffer)


def remove_job_files(settings: Settings, job_id: str) -> None:
    """Delete a job's uploaded input, parts and results."""
    import shutil

    for folder in (upload_dir(settings, job_id), result_dir(settings, job_id)):
        shutil.rmtree(folder, ignore_errors=True)
