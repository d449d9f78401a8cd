"""``scorecast serve --api-processes N`` (``SCORECAST_API_PROCESSES``): N - 1 extra processes
serve the API on the main process's socket, on either store.

``serve`` says it serves once every API process does (each has logged its start-up by then).
The extra processes are shown to serve by stopping the main process (SIGSTOP): reads and a
submission still get their answers, from the extra processes alone. They end with the main
process, whether it stops (SIGTERM) or is killed (SIGKILL). (Simultaneous submissions over
two SQLite API processes: ``test_simultaneous_submissions.py``.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from serving import ServeProcess, register_demo_model

from services import POSTGRES, drop_postgres_database, pg_execute, pg_url, require

pytestmark = [pytest.mark.e2e]

DEADLINE = 120.0  # seconds: generous, for a loaded machine
LOCAL_JOB = {"intakeSettings": {"type": "localFile"}, "outputSettings": {"type": "localFile"}}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'scorecast.db'}"
        return
    require(POSTGRES)
    name = f"scorecast_apiprocs_{tmp_path.name}".replace("-", "_")[:60]
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    yield pg_url(name)
    drop_postgres_database(name)


def _extra_processes(server: ServeProcess) -> list[psutil.Process]:
    assert server.process is not None
    children = psutil.Process(server.process.pid).children()
    return [c for c in children if "scorecast.cli.api_processes" in " ".join(c.cmdline())]


def _wait_gone(processes: list[psutil.Process]) -> None:
    """Wait until each process has ended: gone, or a zombie that no one reaps (an orphan's
    new parent may be an init that does not reap)."""
    pause, deadline = threading.Event(), time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if not [p for p in processes if _running(p)]:
            return
        pause.wait(0.2)
    raise AssertionError(f"still running: {[p.pid for p in processes if _running(p)]}")


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _fresh(server: ServeProcess) -> httpx.Client:
    """A client whose connection is new (never one the main process accepted earlier)."""
    return httpx.Client(
        base_url=server.endpoint + "/",
        headers={"Authorization": f"Token {server.token}"},
        timeout=DEADLINE,
    )


def test_extra_processes_serve_the_api_and_stop_with_the_main_one(
    store_url: str, tmp_path: Path
) -> None:
    server = ServeProcess(
        tmp_path / "home", store_url, "--roles", "api", env={"SCORECAST_API_PROCESSES": "3"}
    ).start()
    assert server.process is not None and server.token
    main = psutil.Process(server.process.pid)
    try:
        extra = _extra_processes(server)
        assert len(extra) == 2, server.output()
        # "serving" is said once every API process serves: each logged its start-up before
        started = (
            (tmp_path / "home" / "serve.log").read_text().count("Application startup complete")
        )
        assert started == 3, server.output()
        deployment = register_demo_model(server)
        main.suspend()  # SIGSTOP: from now on only the extra processes accept and answer
        try:
            with _fresh(server) as http:
                assert http.get("version/").status_code == 200
            with _fresh(server) as http:
                body = {"deploymentId": deployment, **LOCAL_JOB}
                created = http.post("batchPredictions/", json=body)
            assert created.status_code == 202, created.text
            with _fresh(server) as http:
                job = http.get(f"batchPredictions/{created.json()['id']}/")
            assert job.status_code == 200 and job.json()["status"] == "INITIALIZING"
        finally:
            main.resume()
        assert server.stop() == 0
        _wait_gone(extra)
    finally:
        server.kill()


def test_extra_processes_end_when_the_main_one_is_killed(store_url: str, tmp_path: Path) -> None:
    server = ServeProcess(
        tmp_path / "home", store_url, "--roles", "api", env={"SCORECAST_API_PROCESSES": "2"}
    ).start()
    try:
        extra = _extra_processes(server)
        assert len(extra) == 1, server.output()
        server.kill()
        _wait_gone(extra)
    finally:
        server.kill()
