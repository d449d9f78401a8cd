"""Servers that share nothing but PostgreSQL and an object store (issue 20).

Two ``scorecast serve`` processes with different homes, one PostgreSQL database and one S3
bucket (moto server) as ``SCORECAST_STORAGE_URL``: ``--roles api`` and ``--roles
worker,scheduler``. A model registered through the API server scores on the worker server; the
official client's ``score_to_file``, a definition's ``run_once`` (reading a dataset uploaded
through the API server) and a scheduled fire all go through the API server and are scored by
the worker server; the download asked of the API server streams while the job runs and is
byte-identical to the result; killing the worker server mid-job and starting another (a third
home) finishes the job once, with the whole output. Neither home holds a model, an upload or a
result.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from job_streams import StreamedDownload, held_upload, wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model

from services import POSTGRES, drop_postgres_database, pg_execute, pg_url, require

_CONNECTOR_TESTS = str(Path(__file__).resolve().parents[1] / "connectors")
if _CONNECTOR_TESTS not in sys.path:
    sys.path.append(_CONNECTOR_TESTS)

import emulators  # noqa: E402  (tests/connectors/emulators.py)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

BUCKET = "shared-storage"
#: a short lease, so that the replacement worker takes the killed server's job soon
LEASE = "5"
#: rows of the job the worker server is killed in
ROWS = 100_000
DEADLINE = 240.0  # seconds: generous, for a loaded machine and a fire up to a minute away
EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
}
ENDED = ("COMPLETED", "ABORTED", "FAILED")


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    require(POSTGRES)
    name = f"scorecast_two_{os.getpid()}_{secrets.token_hex(4)}"
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{name}"')
    yield pg_url(name)
    drop_postgres_database(name)


@pytest.fixture
def storage_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The settings both servers share: the bucket, its endpoint and keys, the secret key."""
    import boto3
    from cryptography.fernet import Fernet

    with emulators.moto() as moto:
        aws = {
            "AWS_ENDPOINT_URL": moto.endpoint,
            "AWS_ACCESS_KEY_ID": "storage-key",
            "AWS_SECRET_ACCESS_KEY": "storage-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        boto3.client(
            "s3",
            endpoint_url=moto.endpoint,
            aws_access_key_id="storage-key",
            aws_secret_access_key="storage-secret",
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)
        files = tmp_path / "files"
        files.mkdir()
        yield {
            **aws,
            "SCORECAST_STORAGE_URL": f"s3://{BUCKET}/scorecast",
            "SCORECAST_SECRET_KEY": Fernet.generate_key().decode(),
            "SCORECAST_FILE_ROOTS": str(files),
        }


def _bucket_keys(env: dict[str, str]) -> list[str]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _stored_files(home: Path) -> list[Path]:
    """Models, uploads, results and datasets kept in a home (there should be none)."""
    kinds = ("artifacts", "uploads", "results", "datasets")
    return [p for kind in kinds if (home / kind).is_dir() for p in (home / kind).rglob("*")]


def _ended(server: ServeProcess, job_id: str) -> dict[str, Any]:
    with server.http() as http:
        return wait_for_job(http, job_id, lambda j: j["status"] in ENDED, timeout=DEADLINE)


def _download(server: ServeProcess, job_id: str) -> bytes:
    with server.http() as http:
        response = http.get(f"batchPredictions/{job_id}/download/")
    assert response.status_code == 200, response.text
    return response.content


def test_an_api_server_and_a_worker_server_share_only_the_store_and_the_bucket(
    postgres_url: str, storage_env: dict[str, str], tmp_path: Path
) -> None:
    import datarobot

    api = ServeProcess(tmp_path / "home-api", postgres_url, "--roles", "api", env=storage_env)
    api.start()
    workers: list[ServeProcess] = []
    try:
        workers.append(_worker(tmp_path / "home-worker", postgres_url, storage_env))
        deployment = register_demo_model(api)
        assert any(key.startswith("scorecast/artifacts/") for key in _bucket_keys(storage_env))

        # the official client, through the API server: scored by the worker server
        datarobot.Client(endpoint=api.endpoint, token=api.token)
        source = patients_csv(tmp_path / "patients.csv")
        scored = tmp_path / "scored.csv"
        job = datarobot.BatchPredictionJob.score_to_file(deployment, str(source), str(scored))
        status = job.get_status()
        assert status["status"] == "COMPLETED", status
        assert scored.read_bytes().count(b"\n") == 501
        assert _download(api, job.id) == scored.read_bytes()  # byte-identical, asked again

        # a definition reading a dataset uploaded through the API server, run once
        with api.http() as http:
            uploaded = http.post(
                "datasets/fromFile/", files={"file": ("patients.csv", source.read_bytes())}
            )
            assert uploaded.status_code in (200, 201, 202), uploaded.text
            dataset = uploaded.json()["catalogId"]
            files = Path(storage_env["SCORECAST_FILE_ROOTS"])
            created = http.post(
                "batchPredictionJobDefinitions/",
                json={
                    "deploymentId": deployment,
                    "enabled": False,
                    "intakeSettings": {"type": "dataset", "datasetId": dataset},
                    "outputSettings": {
                        "type": "filesystem",
                        "url": (files / "from-dataset.csv").as_uri(),
                    },
                },
            )
            assert created.status_code == 202, created.text
            definition = created.json()["id"]
        run = datarobot.BatchPredictionJobDefinition.get(definition).run_once()
        assert _ended(api, run.id)["status"] == "COMPLETED"
        assert (files / "from-dataset.csv").read_text().count("\n") == 501

        # a scheduled fire, fired and scored by the worker server
        with api.http() as http:
            changed = http.patch(
                f"batchPredictionJobDefinitions/{definition}/",
                json={"enabled": True, "schedule": EVERY_MINUTE},
            )
            assert changed.status_code == 200, changed.text
        fired = _scheduled_job(api, definition)
        assert _ended(api, fired)["status"] == "COMPLETED"
        with api.http() as http:
            http.patch(f"batchPredictionJobDefinitions/{definition}/", json={"enabled": False})

        _kill_the_worker_mid_job(
            api, workers, deployment, url=postgres_url, env=storage_env, tmp_path=tmp_path
        )
        assert api.job_processes() == []  # the API server scored nothing itself
        for home in ("home-api", "home-worker", "home-worker-2"):
            assert _stored_files(tmp_path / home) == [], home
    finally:
        for worker in workers:
            worker.stop()
        api.stop()


def _worker(home: Path, url: str, env: dict[str, str]) -> ServeProcess:
    roles = ("--roles", "worker,scheduler", "--workers", "1", "--lease-seconds", LEASE)
    return ServeProcess(home, url, *roles, env=env, api=False).start()


def _scheduled_job(api: ServeProcess, definition: str) -> str:
    deadline = time.monotonic() + DEADLINE
    with api.http() as http:
        while time.monotonic() < deadline:  # the next minute's fire
            found = http.get(
                "batchPredictions/", params={"batchPredictionJobDefinitionId": definition}
            ).json()["data"]
            scheduled = [job for job in found if job["source"] == "scheduled"]
            if scheduled:
                return str(scheduled[0]["id"])
            time.sleep(0.5)
    raise AssertionError(f"no scheduled fire:\n{api.output()}")


def _kill_the_worker_mid_job(
    api: ServeProcess,
    workers: list[ServeProcess],
    deployment: str,
    *,
    url: str,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    """SIGKILL the worker server while a job runs (its upload is held back halfway, so the job
    cannot end before); another worker server on a third home finishes it once, and the
    download streaming from the API server meanwhile is the whole result."""
    source = patients_csv(tmp_path / "many.csv", copies=ROWS // 500).read_bytes()
    reference = _local_job(api, deployment)  # the same input, never interrupted
    with api.http() as http:
        uploaded = http.put(reference["links"]["csvUpload"], content=source)
        assert uploaded.status_code == 202, uploaded.text
    assert _ended(api, reference["id"])["status"] == "COMPLETED"
    expected = _download(api, reference["id"])
    assert expected.count(b"\n") == ROWS + 1

    job = _local_job(api, deployment)
    half = source.index(b"\n", len(source) // 2) + 1
    release = threading.Event()
    upload = held_upload(api, job["links"]["csvUpload"], source[:half], source[half:], release)
    try:
        with api.http() as http:  # the job scores the first half (over 1 MiB) meanwhile
            wait_for_job(http, job["id"], lambda j: j["scoredRows"] > 0, timeout=DEADLINE)
        streamed = StreamedDownload(api, job["id"], tmp_path / "streamed.csv")
        assert streamed.wait_for(1, timeout=DEADLINE) > 0
        dead = workers[0]
        job_processes = dead.job_processes()
        dead.kill()
        psutil.wait_procs(job_processes, timeout=60)
        workers.append(_worker(tmp_path / "home-worker-2", url, env))
    finally:
        release.set()
    assert upload.join(DEADLINE).status_code == 202
    done = _ended(api, job["id"])
    assert done["status"] == "COMPLETED", done
    logs = "\n".join(done["logs"])
    assert "attempt 2 starts" in logs and "already committed" not in logs, logs
    assert done["scoredRows"] == ROWS
    assert _download(api, job["id"]) == expected
    assert streamed.join(DEADLINE).read_bytes() == expected


def _local_job(api: ServeProcess, deployment: str) -> dict[str, Any]:
    with api.http() as http:
        created: dict[str, Any] = http.post(
            "batchPredictions/",
            json={
                "deploymentId": deployment,
                "intakeSettings": {"type": "localFile"},
                "outputSettings": {"type": "localFile"},
                "passthroughColumns": ["patient_id"],
                "chunkSize": 8192,
                "numConcurrent": 1,
            },
        ).json()
    return created
