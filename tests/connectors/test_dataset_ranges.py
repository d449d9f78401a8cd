"""A dataset file downloads with one byte range from either storage: ``FileResponse`` serves a
local folder's file, ``api/byte_ranges.py`` the same ranges of an object store's (moto S3), so a
client that resumes a download or reads a Parquet footer gets the same bytes from both."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import emulators
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from live_api import LiveServer
from scorecast.api.byte_ranges import Unsatisfiable, requested_range

CSV = b"id,age\n" + b"".join(b"%d,%d\n" % (n, n % 90) for n in range(20_000))
SIZE = len(CSV)


@pytest.fixture(params=["local", "s3"])
def server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> Iterator[LiveServer]:
    """The live API on ``store_url`` with its storage a local folder or a moto S3 bucket."""
    if request.param == "s3":
        import boto3

        moto: emulators.Running = request.getfixturevalue("moto_server")
        bucket = f"ranges-{secrets.token_hex(4)}"
        for name, value in {
            "AWS_ENDPOINT_URL": moto.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        boto3.client("s3", endpoint_url=moto.endpoint).create_bucket(Bucket=bucket)
        monkeypatch.setenv("SCORECAST_STORAGE_URL", f"s3://{bucket}/scorecast")
    else:
        monkeypatch.delenv("SCORECAST_STORAGE_URL", raising=False)
    yield request.getfixturevalue("live_server")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_one_range_of_a_dataset_file_from_either_storage(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url + "/", headers=server.headers(), timeout=120) as http:
        created = http.post("datasets/fromFile/", files={"file": ("a.csv", CSV)})
        assert created.status_code == 202, created.text
        url = f"datasets/{created.json()['catalogId']}/file/"
        whole = http.get(url)
        assert (whole.status_code, whole.content) == (200, CSV)
        assert whole.headers["accept-ranges"] == "bytes"
        for header, first, last in [
            ("bytes=10-19", 10, 19),
            ("bytes=100000-", 100_000, SIZE - 1),
            ("bytes=-100", SIZE - 100, SIZE - 1),
            (f"bytes=5-{SIZE + 1000}", 5, SIZE - 1),
        ]:
            part = http.get(url, headers={"Range": header})
            assert part.status_code == 206, (header, part.text)
            assert part.content == CSV[first : last + 1], header
            assert part.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
            assert int(part.headers["content-length"]) == last - first + 1
        outside = http.get(url, headers={"Range": f"bytes={SIZE}-"})
        assert outside.status_code == 416
        assert outside.headers["content-range"] == f"bytes */{SIZE}"
        several = http.get(url, headers={"Range": "bytes=0-1,5-6"})
        assert several.status_code in (200, 206)  # the whole file, or multipart ranges (local)
        if "s3" in server.settings.storage_url:
            ignored = http.get(url, headers={"Range": "items=1-2"})  # another unit: ignored
            assert (ignored.status_code, ignored.content) == (200, CSV)
            assert (several.status_code, several.content) == (200, CSV)


@given(
    size=st.integers(min_value=0, max_value=10_000),
    first=st.one_of(st.none(), st.integers(min_value=0, max_value=12_000)),
    last=st.one_of(st.none(), st.integers(min_value=0, max_value=12_000)),
)
def test_a_range_is_inside_the_file_or_refused_or_ignored(
    size: int, first: int | None, last: int | None
) -> None:
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    try:
        wanted = requested_range(header, size)
    except Unsatisfiable:
        assert (first is not None and first >= size and (last is None or last >= first)) or (
            first is None and last is not None and (last == 0 or size == 0)
        )
        return
    if wanted is None:  # ignored: the whole file
        assert (first is None and last is None) or (
            first is not None and last is not None and last < first
        )
        return
    start, end = wanted
    assert 0 <= start <= end < size
    if first is not None:
        assert start == first and end == min(size - 1, size - 1 if last is None else last)
    else:
        assert last is not None and end == size - 1 and start == max(size - last, 0)
