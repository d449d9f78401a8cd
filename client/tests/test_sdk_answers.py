"""What the SDK makes of answers that are not the API's (redirects, HTML, a missing route), of
a server that stops answering during a wait, and of uploads whose size is not known."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from scorecast_client import (
    APIError,
    AsyncClient,
    AsyncJob,
    Client,
    Job,
    NotFound,
    ScorecastError,
    WaitTimeout,
)
from scorecast_client._jobs import checked_chunk
from sdk_server import DEMO_DATA, Server, http_server, silent_server

pytestmark = pytest.mark.e2e

#: seconds; far below the 5 tries of 60 s each a poll could take before waits were bounded
BOUND = 20.0


def _redirecting_to(target: str) -> type[BaseHTTPRequestHandler]:
    class Redirect(BaseHTTPRequestHandler):
        """Answers every request with a 308 to the same path at ``target`` (an http→https
        front, say)."""

        def do_GET(self) -> None:
            self.send_response(308)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_DELETE(self) -> None:
            self.do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Redirect


class _HtmlNotFound(BaseHTTPRequestHandler):
    """Another web server: an HTML 404 for everything."""

    def do_GET(self) -> None:
        body = b"<!DOCTYPE HTML>\n<html><body><h1>404 Not Found</h1></body></html>\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _server_root(server: Server) -> str:
    return server.endpoint.removesuffix("/api/v2")


def test_a_redirect_is_an_error_naming_the_endpoint_and_changes_nothing(
    server: Server, deployment: str
) -> None:
    origin = _server_root(server)
    with (
        http_server(_redirecting_to(origin)) as front,
        Client(front + "/api/v2", server.token) as client,
        pytest.raises(ScorecastError, match=r"redirected.*/api/v2") as failure,
    ):
        client.deployments.delete(deployment)
    assert not isinstance(failure.value, APIError)
    with server.client() as client:
        assert client.deployments.get(deployment)["id"] == deployment


def test_check_needs_the_apis_answer(server: Server) -> None:
    # the server's root instead of its API root, with a wrong token: never a success
    with (
        Client(_server_root(server), "not-a-token") as client,
        pytest.raises(ScorecastError, match="endpoint") as failure,
    ):
        client.check()
    assert not isinstance(failure.value, APIError)


def test_an_answer_that_is_not_the_apis_is_not_an_api_error(server: Server) -> None:
    with (
        http_server(_HtmlNotFound) as other,
        Client(other + "/api/v2", "t") as client,
        pytest.raises(ScorecastError) as failure,
    ):
        client.jobs.get("65f0c0ffee0000000000abcd")
    assert not isinstance(failure.value, APIError)
    assert "404" in failure.value.message and "<" not in failure.value.message
    # the real server without /api/v2: a route it does not have, not a missing object
    with (
        Client(_server_root(server), server.token) as client,
        pytest.raises(ScorecastError, match="API root") as missing,
    ):
        list(client.jobs.list())
    assert not isinstance(missing.value, APIError)


def test_a_route_the_server_lacks_at_the_api_root_is_not_found(server: Server) -> None:
    """An older server without a route this client knows: NotFound (exit 3) saying so."""
    import httpx

    from scorecast_client._transport import raise_for_answer

    headers = {"Authorization": f"Token {server.token}"}
    answer = httpx.get(f"{server.endpoint}/noSuchRouteYet/", headers=headers)
    with pytest.raises(NotFound, match="older scorecast"):
        raise_for_answer(answer)


def test_a_token_is_sent_without_surrounding_whitespace(server: Server) -> None:
    with Client(server.endpoint, f" {server.token}\n") as client:
        client.check()


def test_wait_is_bounded_by_its_timeout_when_the_server_stops_answering(
    server: Server, deployment: str
) -> None:
    with server.client() as client:
        job = client.jobs.create_local(deployment)  # no upload: it waits for one
    try:
        with silent_server() as silent, Client(silent, server.token) as hung:
            started = time.monotonic()
            with pytest.raises(WaitTimeout):
                Job(hung.jobs, job.data).wait(timeout=2)
            with pytest.raises(WaitTimeout):
                hung.jobs.wait(job.id, timeout=2)
            assert time.monotonic() - started < BOUND

            async def wait_async() -> None:
                async with AsyncClient(silent, server.token) as hung_async:
                    with pytest.raises(WaitTimeout):
                        await AsyncJob(hung_async.jobs, job.data).wait(timeout=2)

            started = time.monotonic()
            asyncio.run(wait_async())
            assert time.monotonic() - started < BOUND
    finally:
        with server.client() as client:
            client.jobs.abort(job.id)


def test_a_fifo_is_uploaded_chunked(server: Server, deployment: str, tmp_path: Path) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as writer:
            writer.write(DEMO_DATA.read_bytes())

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    target = tmp_path / "scored.csv"
    with server.client() as client:
        job = client.jobs.score(deployment, fifo, target, timeout=300)
    feeder.join(10)
    assert job.status == "COMPLETED" and job.data["scoredRows"] == 500
    assert len(target.read_text().splitlines()) == 501


def test_a_file_whose_size_changes_during_an_upload_is_a_clean_error() -> None:
    assert checked_chunk(b"abc", 0, 5, "in.csv") == 3
    assert checked_chunk(b"", 5, 5, "in.csv") == 5
    assert checked_chunk(b"more", 10, None, "-") == 14
    with pytest.raises(ScorecastError, match="changed size"):
        checked_chunk(b"abc", 4, 5, "in.csv")  # grew
    with pytest.raises(ScorecastError, match="changed size"):
        checked_chunk(b"", 3, 5, "in.csv")  # shrank


def test_a_job_created_while_listing_is_not_listed_twice(server: Server, deployment: str) -> None:
    with server.client() as client:
        made = [client.jobs.create_local(deployment).id for _ in range(4)]
        seen: list[str] = []
        for count, job in enumerate(client.jobs.list(deployment_id=deployment, page_size=2)):
            seen.append(job.id)
            if count == 1:  # the first page is read: a new job shifts every later page
                made.append(client.jobs.create_local(deployment).id)
        for job_id in made:
            client.jobs.abort(job_id)
    assert [ident for ident, times in Counter(seen).items() if times > 1] == []
    assert set(made[:4]) <= set(seen)


def test_a_status_filter_lists_that_status_only(server: Server, deployment: str) -> None:
    with server.client() as client:
        failing = client.jobs.create_local(deployment, passthroughColumns=["no_such_column"])
        client.jobs.upload(failing, DEMO_DATA)
        with pytest.raises(ScorecastError):
            failing.wait(timeout=300)
        assert failing.status == "FAILED"
        aborted = client.jobs.abort(client.jobs.create_local(deployment).id)
        assert aborted.status == "ABORTED"
        only_aborted = [job.id for job in client.jobs.list(status="ABORTED")]
        both = [job.id for job in client.jobs.list(status=["ABORTED", "FAILED"])]
        statuses = {job.status for job in client.jobs.list(status="ABORTED")}
    assert aborted.id in only_aborted and failing.id not in only_aborted
    assert {aborted.id, failing.id} <= set(both)
    assert statuses == {"ABORTED"}
