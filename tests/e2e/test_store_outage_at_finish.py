"""The store goes away right after a job's output committed (issue 14, item 5: the 2,000,000-row
table): the job waits for the store and completes as the same attempt, its output written once,
and the server logs the outage in a few lines rather than a traceback per retry.

``SCORECAST_FAULT_PAUSE_AFTER_OUTPUT_COMMIT`` holds the job process right after its commit while
a file exists; the test then cuts the store (a TCP proxy in front of PostgreSQL) and lets the
job go on."""

from __future__ import annotations

import io
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from job_streams import wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model, submit_local_job
from store_proxy import StoreProxy

from scorecast.runtime.fault_points import PAUSE_AFTER_OUTPUT_COMMIT
from services import POSTGRES, drop_postgres_database, pg_execute, pg_url, require

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ROWS = 20_000


@pytest.fixture
def proxied_store(tmp_path: Path) -> Iterator[tuple[str, StoreProxy]]:
    require(POSTGRES)
    name = f"scorecast_outage_{os.getpid()}_{tmp_path.name}".replace("-", "_")[:60]
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    proxy = StoreProxy()
    try:
        url = pg_url(name).replace(f":{POSTGRES.port}/", f":{proxy.port}/")
        yield url, proxy
    finally:
        proxy.close()
        drop_postgres_database(name)


def _log_text(server: ServeProcess) -> str:
    log = server.home / "serve.log"
    return log.read_text() if log.exists() else ""


def test_a_store_outage_after_the_commit_completes_the_same_attempt_once(
    proxied_store: tuple[str, StoreProxy], tmp_path: Path
) -> None:
    url, proxy = proxied_store
    home = tmp_path / "home"
    pause = tmp_path / "pause"
    pause.touch()
    source = patients_csv(tmp_path / "input.csv", copies=ROWS // 500)
    env = {PAUSE_AFTER_OUTPUT_COMMIT: str(pause)}
    server = ServeProcess(home, url, "--workers", "1", "--lease-seconds", "120", env=env).start()
    try:
        assert server.token
        deployment = register_demo_model(server)
        job = submit_local_job(server, deployment, source)
        result = home / "results" / job["id"] / "result.json"  # the commit's manifest
        with server.http() as http:
            wait_for_job(http, job["id"], lambda _: result.exists(), timeout=180)  # committed
        proxy.cut()
        pause.unlink()  # the job process now tries to store COMPLETED, and cannot
        _wait_for(lambda: "storing its completion failed" in _log_text(server), server)
        _wait_for(lambda: "still failing after" in _log_text(server), server)
        proxy.restore()
        with server.http() as http:
            done = wait_for_job(
                http,
                job["id"],
                lambda j: j["status"] in ("COMPLETED", "ABORTED", "FAILED"),
                timeout=180,
            )
            body = http.get(done["links"]["download"]).content
    finally:
        if not proxy.up:
            proxy.restore()
        server.stop()
    assert done["status"] == "COMPLETED", done
    logs = "\n".join(done["logs"])
    assert "attempt 2" not in logs and "already committed" not in logs, logs  # the same attempt
    frame = pd.read_csv(io.BytesIO(body))
    assert len(frame) == ROWS and frame["patient_id"].is_unique
    text = _log_text(server)
    # each loop that met the outage logs it once in full, then a summary line or two
    first_failures = re.findall(r"scorecast\.\w+: (.*) failed; retrying, and logging", text)
    assert "job " + job["id"] + ": storing its completion" in first_failures, text[-4000:]
    assert len(first_failures) == len(set(first_failures)), first_failures
    assert len(text) < 64_000, text[-4000:]
    assert "works again after" in text


def _wait_for(condition: Callable[[], bool], server: ServeProcess, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, server.output()
        tick.wait(0.1)
