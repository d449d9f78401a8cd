"""Dataset uploads are read outside the service process, within documented limits: a file with
too many columns or too long a line is refused with 422 naming the limit, and the service's
memory does not grow with what the file would make a parser allocate."""

from __future__ import annotations

import io
import threading
from dataclasses import replace

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from api_helpers import Api, api_a_fixture, assert_json_error  # noqa: F401 (fixtures)

from live_api import LiveServer
from scorecast.config import Limits, Settings

SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


class _PeakRss:
    """The highest resident memory of this process seen while the block runs."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


@SQLITE
def test_a_csv_with_200000_columns_is_refused_and_the_service_memory_stays_flat(
    api_a: Api, live_server: LiveServer
) -> None:
    # 1.9 MB: the file that took the service from 0.43 GB to 3.7 GB when pyarrow read it there
    header = ",".join(f"c{i}" for i in range(200_000)).encode()
    data = header + b"\n" + b",".join([b"1"] * 200_000) + b"\n"
    with _PeakRss() as rss:  # the live server runs in this process
        response = api_a.post("datasets/fromFile/", files={"file": ("wide.csv", data)}, timeout=60)
    body = assert_json_error(response, 422)
    assert body["errors"] == {
        "file": "has 200000 columns, more than the limit of 20000 (SCORECAST_MAX_DATASET_COLUMNS)"
    }
    assert rss.peak - rss.start < 200 * 2**20, (rss.start, rss.peak)
    assert not any(live_server.settings.datasets_dir.iterdir())
    assert api_a.get("datasets/").json()["totalCount"] == 0


@SQLITE
@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            b"a,b,c,d\n1,2,3,4\n",
            "has 4 columns, more than the limit of 3 (SCORECAST_MAX_DATASET_COLUMNS)",
        ),
        (
            b"a,b\n1,2\n" + b"x" * 101 + b",3\n1,2\n",
            "line 3 has 103 bytes, more than the limit of 100 (SCORECAST_MAX_LINE_BYTES)",
        ),
        (b'"a,b,c,d",e\n1,2\n', None),  # quoted delimiters are not columns
    ],
)
def test_columns_and_line_length_are_limited(
    data: bytes, problem: str | None, live_server: LiveServer, settings: Settings
) -> None:
    import httpx

    from live_api import serve_app

    with serve_app(
        replace(settings, limits=Limits(dataset_columns=3, line_bytes=100)), live_server.engine
    ) as base_url:
        response = httpx.post(
            f"{base_url}/api/v2/datasets/fromFile/",
            files={"file": ("rows.csv", data)},
            headers=live_server.headers(),
            timeout=60,
        )
    if problem is None:
        assert response.status_code == 202, response.text
        return
    body = assert_json_error(response, 422)
    assert body["errors"] == {"file": problem}


@SQLITE
def test_a_parquet_file_with_too_many_columns_is_refused(
    live_server: LiveServer, settings: Settings
) -> None:
    import httpx

    from live_api import serve_app

    buffer = io.BytesIO()
    pq.write_table(pa.table({f"c{i}": [1] for i in range(5)}), buffer)
    with serve_app(replace(settings, limits=Limits(dataset_columns=4)), live_server.engine) as url:
        response = httpx.post(
            f"{url}/api/v2/datasets/fromFile/",
            files={"file": ("rows.parquet", buffer.getvalue())},
            headers=live_server.headers(),
            timeout=60,
        )
    body = assert_json_error(response, 422)
    assert "SCORECAST_MAX_DATASET_COLUMNS" in body["errors"]["file"]
