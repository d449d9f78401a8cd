"""Jobs followed through the HTTP API of a ``scorecast serve``: polling a job until it gets
somewhere, streaming an upload that holds back its end, streaming a download while the job
runs, and downloads kept as a file (a CSV) or as the error's JSON body."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from serving import ServeProcess

#: bytes per piece of a streamed download written to a file
PIECE = 1 << 20


@dataclass
class Download:
    status: int
    content_type: str
    error: dict[str, Any] | None  # the JSON body of an error answer
    result: Path | None  # the CSV, streamed to a file, of a 200 answer


def job_status(http: httpx.Client, job_id: str) -> dict[str, Any]:
    response = http.get(f"batchPredictions/{job_id}/")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_for_job(
    http: httpx.Client, job_id: str, done: Any, timeout: float = 120.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job = job_status(http, job_id)
    while not done(job):
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not get there in {timeout:.0f} s: {job}")
        time.sleep(0.1)
        job = job_status(http, job_id)
    return job


def download_to(http: httpx.Client, job_id: str, target: Path) -> Download:
    """Stream the job's download into ``target`` (a CSV), or keep the error's JSON body."""
    with http.stream("GET", f"batchPredictions/{job_id}/download/") as response:
        content_type = response.headers.get("content-type", "")
        if response.status_code != 200:
            response.read()
            return Download(response.status_code, content_type, response.json(), None)
        with target.open("wb") as handle:
            for piece in response.iter_bytes(PIECE):
                handle.write(piece)
    return Download(200, content_type, None, target)


class Background:
    """A call run in a thread; its result or exception kept for the test to look at."""

    def __init__(self, call: Any) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Any) -> None:
        try:
            self.result = call()
        except BaseException as exc:  # handed to the test
            self.error = exc

    def join(self, timeout: float) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "still running"
        if self.error is not None:
            raise self.error
        return self.result


def held_upload(
    server: ServeProcess, url: str, first: bytes, rest: bytes, release: threading.Event
) -> Background:
    """Upload ``first``, wait for ``release``, then upload ``rest`` (one chunked body)."""

    def body() -> Iterator[bytes]:
        yield first
        release.wait(300)
        yield rest

    def run() -> httpx.Response:
        with server.http() as http:
            return http.put(url, content=body(), timeout=httpx.Timeout(300))

    return Background(run)


class StreamedDownload:
    """The job's download, streamed into ``target`` while the job runs (docs: "Downloads")."""

    def __init__(self, server: ServeProcess, job_id: str, target: Path) -> None:
        self.received = 0
        self._call = Background(lambda: self._run(server, job_id, target))

    def _run(self, server: ServeProcess, job_id: str, target: Path) -> Path:
        with server.http() as http:
            url = f"batchPredictions/{job_id}/download/"
            with http.stream("GET", url, timeout=httpx.Timeout(300)) as response:
                assert response.status_code == 200, response.read()
                with target.open("wb") as handle:
                    for piece in response.iter_bytes():
                        handle.write(piece)
                        self.received += len(piece)
        return target

    def wait_for(self, size: int, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self.received < size and self._call.error is None:
            assert time.monotonic() < deadline, f"only {self.received} bytes streamed"
            time.sleep(0.05)
        return self.received

    def join(self, timeout: float) -> Path:
        target: Path = self._call.join(timeout)
        return target
