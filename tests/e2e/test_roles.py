"""``scorecast serve --roles``: an API-only process and a worker+scheduler process on one
PostgreSQL store split the work. Jobs submitted to the API process are scored by the other
(the API process starts no job process), a scheduled fire is fired and scored there, and the
result downloads through the API process. A bad role list is a usage error."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from serving import ServeProcess, patients_csv, register_demo_model, submit_local_job

from services import POSTGRES, drop_postgres_database, pg_execute, pg_url, require

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
}


@pytest.fixture
def postgres_url(tmp_path: Path) -> str:
    require(POSTGRES)
    name = f"scorecast_roles_{tmp_path.name}".replace("-", "_")[:60]
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    yield pg_url(name)
    drop_postgres_database(name)


DEADLINE = 240.0  # seconds: generous, for a loaded machine and a fire up to a minute away


def _wait_for(server: ServeProcess, job_id: str) -> dict[str, object]:
    pause = threading.Event()
    deadline = time.monotonic() + DEADLINE
    with server.http() as http:
        while time.monotonic() < deadline:
            job: dict[str, object] = http.get(f"batchPredictions/{job_id}/").json()
            if job["status"] in ("COMPLETED", "ABORTED"):
                return job
            pause.wait(0.5)
    raise AssertionError(f"job {job_id} did not end:\n{server.output()}")


def test_api_and_worker_processes_split_the_work(postgres_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = tmp_path / "files"
    files.mkdir()
    env = {"SCORECAST_FILE_ROOTS": str(files)}
    api = ServeProcess(home, postgres_url, "--roles", "api", env=env).start()
    worker = None
    try:
        worker = ServeProcess(
            home, postgres_url, "--roles", "worker,scheduler", env=env, api=False
        ).start()
        deployment = register_demo_model(api)
        job = submit_local_job(api, deployment, patients_csv(tmp_path / "in.csv"))
        assert _wait_for(api, str(job["id"]))["status"] == "COMPLETED"
        with api.http() as http:
            result = http.get(f"batchPredictions/{job['id']}/download/")
        assert result.status_code == 200 and result.text.count("\n") == 501

        source, target = patients_csv(files / "patients.csv"), files / "scored.csv"
        assert source.is_file()
        with api.http() as http:
            created = http.post(
                "batchPredictionJobDefinitions/",
                json={
                    "deploymentId": deployment,
                    "enabled": True,
                    "schedule": EVERY_MINUTE,
                    "intakeSettings": {
                        "type": "filesystem",
                        "url": (files / "patients.csv").as_uri(),
                    },
                    "outputSettings": {
                        "type": "filesystem",
                        "url": (files / "scored.csv").as_uri(),
                    },
                },
            )
            assert created.status_code == 202, created.text
            definition = created.json()["id"]
            scheduled = None
            pause, deadline = threading.Event(), time.monotonic() + DEADLINE
            while scheduled is None and time.monotonic() < deadline:  # the next minute's fire
                found = http.get(
                    "batchPredictions/", params={"batchPredictionJobDefinitionId": definition}
                ).json()["data"]
                scheduled = found[0] if found else None
                pause.wait(0.5)
        assert scheduled is not None, worker.output()
        assert scheduled["source"] == "scheduled"
        assert _wait_for(api, scheduled["id"])["status"] == "COMPLETED"
        assert target.read_text().count("\n") == 501
        assert api.job_processes() == []  # the API process ran nothing itself
    finally:
        if worker is not None:
            worker.stop()
        api.stop()


def test_an_unknown_role_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scorecast", "serve", "--roles", "api,bogus"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"SCORECAST_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 2
    assert "bogus" in done.stderr and "Traceback" not in done.stderr
