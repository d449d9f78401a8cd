"""A large input is read, and a large output written, in bounded memory.

A 320 MB CSV is streamed into the store (never held whole, neither here nor by the helper),
then copied through the connectors (intake → decode → output → commit) while a thread samples
this process's resident memory. The growth must stay far below the input size: the intake holds
one chunk plus a read buffer, the output one part.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from backends import Backend
from peak_rss import PeakRss

from scorecast.connectors.registry import open_intake, open_output
from scorecast.formats import decode_csv_block
from scorecast.formats.chunks import CsvBlock

INPUT_BYTES = 320 << 20
LIMIT_BYTES = 160 << 20  # half the input; the copy actually needs a few tens of MB
_LINES = b"".join(
    b"%d,%d.5,label number %d with some padding text\n" % (i, i, i) for i in range(20_000)
)


class GeneratedCsv(io.RawIOBase):
    """A CSV of ``size`` bytes (whole lines) produced on the fly."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.header = b"id,score,label\n"
        self.lines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.header:
            n = len(self.header)
            view[:n] = self.header
            self.header = b""
            return n
        if self.remaining <= 0:
            return 0
        n = min(len(view), len(_LINES), self.remaining)
        piece = _LINES[:n]
        cut = piece.rfind(b"\n") + 1
        if cut == 0:  # less than one line left: the file ends here
            self.remaining = 0
            return 0
        view[:cut] = piece[:cut]
        self.lines += piece[:cut].count(b"\n")
        self.remaining -= cut
        return cut


def _copy(backend: Backend, source: str, target: str) -> Iterator[int]:
    intake = open_intake(backend.settings_for(source, "csv", "intake"), backend.ctx)
    output = open_output(backend.settings_for(target, "csv", "output"), backend.ctx)
    try:
        for chunk in intake.chunks(8 << 20):
            batch = decode_csv_block(chunk) if isinstance(chunk, CsvBlock) else chunk
            output.write(batch)
            yield batch.num_rows
        output.commit()
    finally:
        intake.close()


@pytest.mark.parametrize("kind", ["s3", "filesystem"])
def test_large_copy_runs_in_bounded_memory(kind: str, request: pytest.FixtureRequest) -> None:
    from backend_factory import make_backend

    backend = make_backend(kind, request, request.getfixturevalue("app_settings"))
    source, target = backend.new_name("csv"), backend.new_name("csv")
    generated = GeneratedCsv(INPUT_BYTES)
    if kind == "s3":
        from boto3.s3.transfer import TransferConfig

        backend.client.upload_fileobj(  # type: ignore[attr-defined]
            io.BufferedReader(generated, 8 << 20),
            "contract",
            f"data/{source}",
            Config=TransferConfig(max_concurrency=2, multipart_chunksize=16 << 20),
        )
    else:
        with (backend.root / source).open("wb") as handle:  # type: ignore[attr-defined]
            while piece := generated.read(8 << 20):
                handle.write(piece)
    with PeakRss() as rss:
        copied = sum(_copy(backend, source, target))
    assert copied == generated.lines
    assert backend.exists(target)
    print(f"{kind}: copied {INPUT_BYTES >> 20} MB, peak RSS growth {rss.growth >> 20} MB")
    assert rss.growth < LIMIT_BYTES, f"peak RSS grew by {rss.growth >> 20} MB"
