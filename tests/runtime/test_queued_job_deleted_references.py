"""A job queued before its credential or data store was deleted fails when a worker takes it,
FAILED with a ``statusDetails`` and a log line naming the missing object (the worker's
connector context, ``Worker._context``); the job's other secrets never show.

The API runs (``live_server``) without a worker while the jobs are submitted and the objects
deleted; then a worker starts and takes them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from scorecast.demo import MODEL

SECRET = "awsSecretNeverShown0123456789"
PASSWORD = "dbPasswordNeverShown0123456789"


@pytest.fixture
def api(live_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server.url + "/", headers=live_server.headers(), timeout=60
    ) as client:
        yield client


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.e2e
def test_queued_jobs_fail_naming_the_deleted_credential_and_data_store(
    live_server: Any, api: httpx.Client
) -> None:
    from scorecast.runtime.worker import Worker

    deployment = created(
        api.post(
            "deployments/fromModelFile/",
            files={"file": ("readmission.onnx", MODEL.read_bytes())},
            data={"targetName": "readmitted", "targetType": "binary", "positiveClass": "yes"},
        )
    )["id"]
    s3_cred = created(
        api.post(
            "credentials/",
            json={
                "name": "s3 login",
                "credentialType": "s3",
                "awsAccessKeyId": "AKIAQUEUEDJOBTEST",
                "awsSecretAccessKey": SECRET,
            },
        )
    )["credentialId"]
    basic = created(
        api.post(
            "credentials/",
            json={
                "name": "db login",
                "credentialType": "basic",
                "user": "reader",
                "password": PASSWORD,
            },
        )
    )["credentialId"]
    store = created(
        api.post(
            "externalDataStores/",
            json={
                "type": "jdbc",
                "canonicalName": "warehouse",
                "params": {
                    "driverId": "postgresql",
                    "jdbcUrl": "jdbc:postgresql://db.example.com:5432/sales",
                },
            },
        )
    )["id"]
    intakes = {
        "credential": {"type": "s3", "url": "s3://sales/in.csv", "credentialId": s3_cred},
        "data store": {
            "type": "jdbc",
            "dataStoreId": store,
            "credentialId": basic,
            "table": "sales",
        },
    }
    jobs = {
        name: created(
            api.post(
                "batchPredictions/",
                json={
                    "deploymentId": deployment,
                    "intakeSettings": intake,
                    "outputSettings": {"type": "localFile"},
                },
            )
        )["id"]
        for name, intake in intakes.items()
    }
    assert api.delete(f"credentials/{s3_cred}/").status_code == 204
    assert api.delete(f"externalDataStores/{store}/").status_code == 204

    worker = Worker(live_server.settings, live_server.engine, slots=2, lease_seconds=5.0)
    worker.start()
    try:
        records = {name: finished(api, job_id) for name, job_id in jobs.items()}
    finally:
        worker.stop()
    reasons = {
        "credential": f"credential {s3_cred} no longer exists",
        "data store": f"data store {store} no longer exists",
    }
    for name, record in records.items():
        text = json.dumps(record)
        assert (record["status"], record["endReason"]) == ("ABORTED", "failed"), text
        assert reasons[name] in record["statusDetails"], text
        assert any(reasons[name] in line for line in record["logs"]), text
        assert SECRET not in text and PASSWORD not in text


def finished(api: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180  # generous: a worker on a loaded 2-core CI machine
    while True:
        record: dict[str, Any] = api.get(f"batchPredictions/{job_id}/").json()
        if record["status"] in ("COMPLETED", "ABORTED", "FAILED"):
            return record
        assert time.monotonic() < deadline, f"job {job_id} still {record['status']}"
        time.sleep(0.2)
