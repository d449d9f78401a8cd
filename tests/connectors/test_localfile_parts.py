"""Joining the parts of a ``localFile`` multipart upload: blank lines and empty parts."""

from __future__ import annotations

from pathlib import Path

import pytest
from context import settings_for

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.connectors.storage import open_storage
from scorecast.connectors.storage.segments import SegmentReader
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import InvalidInput

JOB = "b" * 24
HEADER = b"id,x\r\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home, root = tmp_path / "home", tmp_path / "root"
    home.mkdir()
    root.mkdir()
    return settings_for(home, root)


def joined(settings: Settings, parts: list[bytes]) -> bytes:
    for number, body in enumerate(parts):
        received = localfile_files.staging_file(settings, JOB, ".part")
        received.write_bytes(body)
        localfile_files.store_part(settings, JOB, number, received)
        received.unlink()
    size = localfile_files.assemble_parts(settings, JOB, CsvSettings())
    reader = SegmentReader(open_storage(settings), home_layout.input_segments(JOB))
    out = bytearray()
    while piece := reader.read(1 << 20):
        out += piece
    reader.close()
    assert size == len(out)
    return bytes(out)


def test_a_part_starting_with_a_blank_line_keeps_its_rows(settings: Settings) -> None:
    parts = [HEADER + b"1,a\r\n", b"\r\n" + HEADER + b"2,b\r\n3,c\r\n", HEADER + b"4,d\r\n"]
    assert joined(settings, parts) == HEADER + b"1,a\r\n2,b\r\n3,c\r\n4,d\r\n"


def test_blank_lines_before_the_first_header_are_dropped(settings: Settings) -> None:
    parts = [b"\n\r\n" + HEADER + b"1,a\r\n", HEADER + b"2,b"]
    assert joined(settings, parts) == HEADER + b"1,a\r\n2,b"


def test_parts_of_nothing_but_blank_lines_are_skipped(settings: Settings) -> None:
    parts = [b"", HEADER + b"1,a\r\n", b"\r\n\r\n", b"", HEADER + b"2,b\r\n"]
    assert joined(settings, parts) == HEADER + b"1,a\r\n2,b\r\n"


def test_a_part_with_another_header_after_a_blank_line_is_refused(settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="part 1") as error:
        joined(settings, [HEADER + b"1,a\r\n", b"\r\nid,y\r\n2,b\r\n"])
    assert error.value.errors == {"parts": "part 1: header differs from part 0"}


def test_a_blank_line_longer_than_a_read_is_skipped(settings: Settings) -> None:
    parts = [HEADER + b"1,a\n", b"\n" * 200_000 + HEADER + b"2,b\n"]
    assert joined(settings, parts) == HEADER + b"1,a\n2,b\n"


def test_a_quote_inside_a_header_name_is_a_character(settings: Settings) -> None:
    """``5" screen`` opens no quoted field (``csv_blocks.QuoteSyntax``): counting quotes took
    the whole part for its header, and refused part 1 as a different header."""
    header = b'id,size 5" screen\n'
    parts = [header + b"1,a\n", header + b"2,b\n3,c\n"]
    assert joined(settings, parts) == header + b"1,a\n2,b\n3,c\n"


def test_a_quoted_header_name_may_hold_a_line_end(settings: Settings) -> None:
    header = b'id,"two\nlines"\n'
    parts = [header + b"1,a\n", header + b"2,b\n"]
    assert joined(settings, parts) == header + b"1,a\n2,b\n"
