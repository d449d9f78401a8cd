"""The localFile adapter's files: multipart assembly, and the download following attempts."""

from __future__ import annotations

import pytest
from rows import add_job, org_and_user
from sqlalchemy import Engine

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.connectors import localfile, localfile_files
from scorecast.connectors.storage import open_storage
from scorecast.connectors.storage.segments import SegmentReader, SegmentWriter
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import InvalidInput
from scorecast.service.output_follower import OutputFollower, StreamCut
from scorecast.store.db import session_scope
from scorecast.store.models import Job

JOB = "a" * 24
HEADER = b'id,"note\r\nwith newline",x\r\n'


def put_parts(settings: Settings, parts: list[bytes], job_id: str = JOB) -> None:
    for number, body in enumerate(parts):
        put_part(settings, job_id, number, body)


def put_part(settings: Settings, job_id: str, number: int, body: bytes) -> None:
    received = localfile_files.staging_file(settings, job_id, ".part")
    received.write_bytes(body)
    localfile_files.store_part(settings, job_id, number, received)
    received.unlink()


def input_bytes(settings: Settings, job_id: str = JOB) -> bytes:
    reader = SegmentReader(open_storage(settings), home_layout.input_segments(job_id))
    out = bytearray()
    while piece := reader.read(1 << 20):
        out += piece
    return bytes(out)


def test_parts_are_joined_without_their_repeated_headers(settings: Settings) -> None:
    put_parts(
        settings,
        [HEADER + b'1,"a\r\nb",2\r\n', HEADER + b"3,c,4\r\n5,d,6\r\n", HEADER, HEADER + b"7,e,8"],
    )
    size = localfile_files.assemble_parts(settings, JOB, CsvSettings())
    joined = input_bytes(settings)
    assert joined == HEADER + b'1,"a\r\nb",2\r\n3,c,4\r\n5,d,6\r\n7,e,8'
    assert size == len(joined)


def test_a_part_with_another_header_is_refused_naming_it(settings: Settings) -> None:
    put_parts(settings, [b"a,b\n1,2\n", b"a,b\n3,4\n", b"a,c\n5,6\n"])
    with pytest.raises(InvalidInput, match="part 2") as error:
        localfile_files.assemble_parts(settings, JOB, CsvSettings())
    assert error.value.errors == {"parts": "part 2: header differs from part 0"}
    assert open_storage(settings).keys(home_layout.input_segments(JOB)) == []
    assert localfile_files.read_marker(settings, JOB, localfile_files.COMPLETE) is None


def test_missing_parts_are_refused(settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="no part"):
        localfile_files.assemble_parts(settings, JOB, CsvSettings())
    put_parts(settings, [b"a\n1\n"])
    put_part(settings, JOB, 2, b"a\n3\n")
    with pytest.raises(InvalidInput, match="part 1 is missing"):
        localfile_files.assemble_parts(settings, JOB, CsvSettings())


def test_job_ids_cannot_escape_the_state_folder(settings: Settings) -> None:
    from scorecast.errors import NotFound

    for bad in ("../../etc", "a" * 23, "A" * 24, "a" * 23 + "/"):
        with pytest.raises(NotFound):
            home_layout.input_segments(bad)


def _set(engine: Engine, job_id: str, **values: object) -> None:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        for key, value in values.items():
            setattr(job, key, value)


def _drain(follower: OutputFollower) -> tuple[bytes, bool]:
    out = bytearray()
    while True:
        data, done = follower.step()
        out += data
        if done or not data:
            return bytes(out), done


def _staged(settings: Settings, job_id: str, attempt: int, number: int, data: bytes) -> None:
    """Segment ``number`` of ``attempt``'s output."""
    prefix = home_layout.attempt_segments(job_id, attempt)
    open_storage(settings).put_bytes(home_layout.segment_key(prefix, number), data)


def _commit(settings: Settings, job_id: str, attempt: int, segments: int) -> None:
    written = SegmentWriter(open_storage(settings), home_layout.attempt_segments(job_id, attempt))
    written.segments = segments
    localfile_files.commit_result(settings, job_id, attempt, written)


def test_the_download_follows_a_retried_attempt_with_the_same_bytes(
    settings: Settings, engine: Engine
) -> None:
    org, user = org_and_user(engine)
    job_id = add_job(engine, org, user, status="RUNNING", attempt=1)
    follower = OutputFollower(settings, engine, job_id)
    assert _drain(follower) == (b"", False)  # nothing staged yet: wait
    _staged(settings, job_id, 1, 0, b"h\n1\n")
    assert _drain(follower) == (b"h\n1\n", False)
    _set(engine, job_id, attempt=2)  # the worker died; attempt 2 rewrites the same bytes
    _staged(settings, job_id, 2, 0, b"h\n")
    assert _drain(follower) == (b"", False)  # not caught up yet: wait
    _staged(settings, job_id, 2, 1, b"1\n2\n")
    assert _drain(follower) == (b"2\n", False)
    _commit(settings, job_id, 2, 2)
    _set(engine, job_id, status="COMPLETED")
    assert _drain(follower) == (b"", True)
    assert follower.sent == 6
    follower.close()


def test_the_download_is_cut_when_a_retry_wrote_other_bytes(
    settings: Settings, engine: Engine
) -> None:
    org, user = org_and_user(engine)
    job_id = add_job(engine, org, user, status="RUNNING", attempt=1)
    follower = OutputFollower(settings, engine, job_id)
    _staged(settings, job_id, 1, 0, b"h\n1\n")
    assert _drain(follower) == (b"h\n1\n", False)
    _set(engine, job_id, attempt=2)
    _staged(settings, job_id, 2, 0, b"h\n9\n")
    with pytest.raises(StreamCut):
        follower.step()
    follower.close()


@pytest.mark.parametrize("status", ["ABORTED", "FAILED"])
def test_the_download_ends_when_the_job_fails(
    settings: Settings, engine: Engine, status: str
) -> None:
    org, user = org_and_user(engine)
    job_id = add_job(engine, org, user, status="RUNNING", attempt=1)
    follower = OutputFollower(settings, engine, job_id)
    _staged(settings, job_id, 1, 0, b"h\n1\n")
    assert _drain(follower) == (b"h\n1\n", False)
    _set(engine, job_id, status=status)
    assert _drain(follower) == (b"", True)
    follower.close()


def _read_all(intake: localfile.LocalFileIntake, out: list[bytes], errors: list[Exception]) -> None:
    try:
        out.extend(block.data for block in intake.chunks(4))  # type: ignore[union-attr]
    except Exception as exc:  # reported by the test
        errors.append(exc)


def test_the_intake_follows_an_upload_that_is_still_streaming(settings: Settings) -> None:
    import threading

    handle = localfile_files.begin_streamed_upload(settings, JOB, expected=12)
    handle.write(b"h\n1\n")
    handle.flush()
    intake = localfile.LocalFileIntake(settings, JOB, CsvSettings())
    assert intake.size == 12  # as announced, until the upload completes
    out: list[bytes] = []
    errors: list[Exception] = []
    reader = threading.Thread(target=_read_all, args=(intake, out, errors))
    reader.start()
    reader.join(0.5)
    assert reader.is_alive()  # waiting for more bytes, not at the end
    handle.write(b"2\n3\n4\n5\n")
    handle.close()
    localfile_files.end_streamed_upload(settings, JOB)
    reader.join(120)  # generous: the thread may wait long for the CPU on a loaded CI machine
    assert not reader.is_alive() and not errors
    assert b"".join(out) == b"1\n2\n3\n4\n5\n"
    assert intake.size == 12 == intake.bytes_read
    intake.close()


def test_an_upload_that_breaks_off_fails_the_intake(settings: Settings) -> None:
    import threading

    from scorecast.errors import ConnectorError

    handle = localfile_files.begin_streamed_upload(settings, JOB, expected=None)
    handle.write(b"h\n1\n")
    handle.flush()
    intake = localfile.LocalFileIntake(settings, JOB, CsvSettings())
    out: list[bytes] = []
    errors: list[Exception] = []
    reader = threading.Thread(target=_read_all, args=(intake, out, errors))
    reader.start()
    handle.close()
    localfile_files.end_streamed_upload(settings, JOB, "the client went away")
    reader.join(120)  # generous: the thread may wait long for the CPU on a loaded CI machine
    assert not reader.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ConnectorError)
    assert "the client went away" in str(errors[0])
    intake.close()


def test_the_intake_cuts_each_block_to_the_size_asked_before_it(settings: Settings) -> None:
    handle = localfile_files.begin_streamed_upload(settings, JOB, expected=None)
    handle.write(b"n\n" + b"".join(b"%04d\n" % i for i in range(400)))
    handle.close()
    localfile_files.end_streamed_upload(settings, JOB)
    intake = localfile.LocalFileIntake(settings, JOB, CsvSettings())
    asked: list[int] = []

    def next_size() -> int:  # a dynamic chunk size: 100 bytes, then 300, 100, 300, ...
        asked.append(300 if len(asked) % 2 else 100)
        return asked[-1]

    blocks = [block.data for block in intake.chunks(next_size)]  # type: ignore[union-attr]
    intake.close()
    assert b"".join(blocks) == b"".join(b"%04d\n" % i for i in range(400))
    assert [len(block) for block in blocks[:4]] == [100, 300, 100, 300]
