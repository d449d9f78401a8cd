"""Request units of work (``api/transactions.py``): reads beside a writer, every route a unit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from api_helpers import seed_deployment
from fastapi.routing import APIRoute
from sqlalchemy import event, text

from live_api import LiveServer, write_lock_held
from scorecast.api.app import API_PREFIX, create_app
from scorecast.api.routes import health
from scorecast.api.transactions import TransactionRoute
from scorecast.config import Settings
from scorecast.store.db import create_engine_for
from scorecast.store.write_batches import write_batches
from scorecast.web import console


def test_every_api_route_runs_as_a_unit_of_work(settings: Settings) -> None:
    engine = create_engine_for(settings.database_url)
    try:
        app = create_app(settings, engine)
    finally:
        engine.dispose()
    routers = [r.original_router for r in app.routes if hasattr(r, "original_router")]
    api_routers = [r for r in routers if r is not health.router]
    routes = [
        route
        for router in api_routers
        for route in router.routes
        if not route.endpoint.__module__.startswith(console.__name__.rpartition(".")[0] + ".")
    ]  # the console's pages (scorecast.web.*) are not API routes
    assert len(routes) > 40
    assert [r.path for r in routes if not isinstance(r, TransactionRoute)] == []
    assert not [r for r in app.routes if isinstance(r, APIRoute) and API_PREFIX in r.path]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_reads_are_answered_while_another_connection_holds_the_write_lock(
    live_server: LiveServer,
) -> None:
    headers = {"Authorization": f"Token {live_server.token}"}
    with httpx.Client(base_url=live_server.url + "/", headers=headers, timeout=60) as http:
        assert http.get("batchPredictions/").status_code == 200  # notes the token's use now
        with write_lock_held(live_server):
            for path in ("batchPredictions/", "batchPredictionJobDefinitions/", "version/"):
                answer = http.get(path)
                assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_streaming_upload_holds_no_writer_turn(live_server: LiveServer) -> None:
    """An upload whose body is still coming (held below) lets other writing requests through:
    they would wait for it to end if the upload held the process's SQLite writer turn."""
    deployment = seed_deployment(live_server, "org-a")
    spec = {
        "deploymentId": deployment,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }
    release = threading.Event()
    started = threading.Event()

    def body() -> Iterator[bytes]:
        yield b"age,visits\n1,2\n"
        started.set()
        release.wait(300)
        yield b"3,4\n"

    answers: list[httpx.Response] = []
    with httpx.Client(
        base_url=live_server.url + "/", headers=live_server.headers(), timeout=300
    ) as http:
        job = http.post("batchPredictions/", json=spec).json()
        uploader = threading.Thread(
            target=lambda: answers.append(http.put(job["links"]["csvUpload"], content=body()))
        )
        uploader.start()
        try:
            assert started.wait(120)
            with httpx.Client(
                base_url=live_server.url + "/", headers=live_server.headers(), timeout=120
            ) as other:
                _wait_until_uploading(other, job["id"])
                second = other.post("batchPredictions/", json=spec)  # a writer, while it streams
                assert second.status_code == 202, second.text
                assert not answers, "the upload ended before the other writer was answered"
        finally:
            release.set()
            uploader.join(300)
    assert answers and answers[0].status_code == 202, answers


def _wait_until_uploading(http: httpx.Client, job_id: str) -> None:
    deadline = time.monotonic() + 120
    while "Upload of the input started" not in "".join(
        http.get(f"batchPredictions/{job_id}/").json()["logs"]
    ):
        assert time.monotonic() < deadline, "the upload did not start"
        threading.Event().wait(0.05)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_writers_that_meet_share_one_commit_and_a_refused_one_loses_only_itself(
    live_server: LiveServer,
) -> None:
    """Submissions that wait for the write lock together run in one transaction (group
    commit): the valid ones are accepted and kept, the refused ones answer their 4xx and leave
    nothing behind, and the store commits once for all of them."""
    deployment = seed_deployment(live_server, "org-a")
    valid = {
        "deploymentId": deployment,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }
    bodies = [valid, {**valid, "numConcurrent": "many"}, valid, {**valid, "deploymentId": "x"}]
    engine = live_server.engine
    batches = write_batches(engine)
    assert batches is not None
    answers: list[httpx.Response | None] = [None] * len(bodies)

    def submit(index: int) -> None:
        with httpx.Client(
            base_url=live_server.url + "/", headers=live_server.headers(), timeout=300
        ) as http:
            answers[index] = http.post("batchPredictions/", json=bodies[index])

    commits: list[int] = []
    with engine.connect() as holder:
        held = holder.begin()  # the engine's writer gate, until every submission waits
        threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(bodies))]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while batches.waiting < len(bodies) - 1:
            assert time.monotonic() < deadline, "the submissions did not meet"
            time.sleep(0.01)
        event.listen(engine, "commit", lambda _connection: commits.append(1))
        held.rollback()
    for thread in threads:
        thread.join(300)
    statuses = [answer.status_code if answer is not None else None for answer in answers]
    assert statuses[0] == statuses[2] == 202, statuses
    assert statuses[1] == 422 and statuses[3] == 404, statuses
    assert len(commits) == 1
    with engine.connect() as connection:
        kept = set(connection.scalars(text("SELECT id FROM jobs")))
    accepted = {answer.json()["id"] for answer in answers if answer and answer.status_code == 202}
    assert kept == accepted
