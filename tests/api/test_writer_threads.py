"""The API process's threads (``SCORECAST_API_THREADS``) and what SQLite writers may hold of
them (``api/transactions.py``): writers waiting for the write lock always leave a thread to
readers."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import anyio.to_thread
import httpx
import pytest
from api_helpers import seed_deployment
from sqlalchemy import event

from live_api import LiveServer, serve_app, write_lock_held
from scorecast.api.app import create_app
from scorecast.api.transactions import READER_THREADS
from scorecast.config import Settings
from scorecast.errors import InvalidInput
from scorecast.store.db import create_engine_for
from scorecast.store.write_batches import write_batches

THREADS = 4


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, api_threads=THREADS)


def test_the_pool_has_the_threads_the_setting_names(settings: Settings) -> None:
    engine = create_engine_for(settings.database_url)
    try:
        app = create_app(settings, engine)

        async def pool_size() -> dict[str, Any]:
            return {"threads": anyio.to_thread.current_default_thread_limiter().total_tokens}

        app.add_api_route("/threads", pool_size)
        with serve_app(settings, engine, app) as base, httpx.Client(base_url=base) as http:
            assert http.get("/threads").json() == {"threads": THREADS}
    finally:
        engine.dispose()


def test_the_setting_is_a_whole_number() -> None:
    env = {"SCORECAST_HOME": "home"}
    assert Settings.from_env(env).api_threads == 8
    assert Settings.from_env({**env, "SCORECAST_API_THREADS": "3"}).api_threads == 3
    for bad in ("0", "-2", "many", "1.5"):
        with pytest.raises(InvalidInput, match="SCORECAST_API_THREADS"):
            Settings.from_env({**env, "SCORECAST_API_THREADS": bad})


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_writers_waiting_for_the_lock_leave_a_thread_to_readers(live_server: LiveServer) -> None:
    deployment = seed_deployment(live_server, "org-a")
    spec = {
        "deploymentId": deployment,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }
    batches = write_batches(live_server.engine)
    assert batches is not None
    answers: list[int] = []
    # a writer that waited out the lock fails busy and frees its thread: a read answered only
    # after that would have waited for the writers, not been left a thread of its own
    store_errors: list[object] = []
    event.listen(live_server.engine, "handle_error", store_errors.append)

    def submit() -> None:
        with httpx.Client(
            base_url=live_server.url + "/", headers=live_server.headers(), timeout=300
        ) as http:
            answers.append(http.post("batchPredictions/", json=spec).status_code)

    with httpx.Client(
        base_url=live_server.url + "/", headers=live_server.headers(), timeout=120
    ) as http:
        assert http.get("batchPredictions/").status_code == 200  # notes the token's use now
        writers = [threading.Thread(target=submit) for _ in range(THREADS + 2)]
        try:
            with write_lock_held(live_server):
                for writer in writers:
                    writer.start()
                # every writer's place taken: a leader waiting for the lock, the rest behind it
                places = THREADS - READER_THREADS
                deadline = time.monotonic() + 120
                while batches.waiting < places - 1:
                    assert time.monotonic() < deadline, "the writers did not take their places"
                    time.sleep(0.01)
                read = http.get("batchPredictions/")
                assert read.status_code == 200, read.text
                assert answers == [], "a writer was answered while the lock was held"
                assert store_errors == [], "the read waited until a writer gave up"
        finally:
            for writer in writers:
                writer.join(300)
    assert answers == [202] * len(writers)
