"""The official ``datarobot`` client (3.20.0) against a real ``scorecast serve``, unchanged.

Once on SQLite and once on PostgreSQL (module-scoped server per backend). Each test checks
what a user would see: row counts, prediction columns, statuses, and that no secret is echoed.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from serving import ServeProcess, patients_csv, submit_local_job

from scorecast.demo import DATA

pytestmark = pytest.mark.e2e

EXPECTED_COLUMNS = {
    "readmitted_no_PREDICTION",
    "readmitted_yes_PREDICTION",
    "readmitted_PREDICTION",
    "THRESHOLD",
    "POSITIVE_CLASS",
}
EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
}


def local(deployment: str, **extra: Any) -> dict[str, Any]:
    return {
        "deployment": deployment,
        "intake_settings": {"type": "localFile", "file": str(DATA)},
        **extra,
    }


def check_scored(frame: pd.DataFrame, rows: int = 500) -> None:
    assert len(frame) == rows
    assert set(frame.columns) >= EXPECTED_COLUMNS
    assert frame["readmitted_PREDICTION"].isin(["yes", "no"]).all()
    total = frame["readmitted_no_PREDICTION"] + frame["readmitted_yes_PREDICTION"]
    assert ((total - 1).abs() < 1e-6).all()


def test_score_then_download(dr: Any, deployment: str, tmp_path: Path) -> None:
    job = dr.BatchPredictionJob.score(
        deployment,
        intake_settings={"type": "localFile", "file": str(DATA)},
        passthrough_columns=["patient_id"],
    )
    job.wait_for_completion()
    status = job.get_status()
    assert status["status"] == "COMPLETED"
    assert status["scored_rows"] == 500 and status["percentage_completed"] == 100.0
    target = tmp_path / "out.csv"
    with target.open("wb") as handle:
        job.download(handle)
    frame = pd.read_csv(target)
    check_scored(frame)
    expected_ids = pd.read_csv(DATA)["patient_id"]
    assert frame["patient_id"].tolist() == expected_ids.tolist()  # input order kept


def test_score_to_file(dr: Any, deployment: str, tmp_path: Path) -> None:
    target = tmp_path / "scored.csv"
    job = dr.BatchPredictionJob.score_to_file(deployment, str(DATA), str(target))
    assert job.get_status()["status"] == "COMPLETED"
    check_scored(pd.read_csv(target))


def test_score_pandas_keeps_the_index(dr: Any, deployment: str) -> None:
    frame = pd.read_csv(DATA).set_index("patient_id")
    job, scored = dr.BatchPredictionJob.score_pandas(deployment, frame)
    assert job.get_status()["status"] == "COMPLETED"
    check_scored(scored)
    assert list(scored.index) == list(frame.index)


def test_multipart_upload_of_a_larger_file(dr: Any, deployment: str, tmp_path: Path) -> None:
    source = patients_csv(tmp_path / "big.csv", copies=500)  # 250,000 rows, about 6 MB: 2 parts
    assert source.stat().st_size > 5 * 1024 * 1024
    target = tmp_path / "scored.csv"
    dr.BatchPredictionJob.score(
        deployment,
        intake_settings={"type": "localFile", "file": str(source), "multipart": True},
        output_settings={"type": "localFile", "path": str(target)},
        passthrough_columns=["patient_id"],
    )
    frame = pd.read_csv(target)
    check_scored(frame, rows=250_000)
    assert frame["patient_id"].is_unique  # no repeated header became a row, no row lost
    assert "patient_id" not in set(frame["patient_id"])


def test_status_list_abort_and_copy(
    dr: Any, deployment: str, server: ServeProcess, tmp_path: Path
) -> None:
    done = dr.BatchPredictionJob.score(
        deployment, intake_settings={"type": "localFile", "file": str(DATA)}
    )
    done.wait_for_completion()

    # a job that waits for its upload is aborted at once
    with server.http() as http:
        created = http.post(
            "batchPredictions/",
            json={
                "deploymentId": deployment,
                "intakeSettings": {"type": "localFile"},
                "outputSettings": {"type": "localFile"},
            },
        ).json()
    pending = dr.BatchPredictionJob.get(created["id"])
    assert pending.get_status()["status"] == "INITIALIZING"
    pending.delete()
    assert pending.get_status()["status"] == "ABORTED"

    completed = dr.BatchPredictionJob.list_by_status(["COMPLETED"])
    ids = {job["id"] for job in completed}
    assert done.id in ids and pending.id not in ids
    aborted = dr.BatchPredictionJob.list_by_status(["ABORTED"])
    assert pending.id in {job["id"] for job in aborted}
    both = dr.BatchPredictionJob.list_by_status(["COMPLETED", "ABORTED"])
    assert ids | {pending.id} <= {job["id"] for job in both}

    copy = dr.BatchPredictionJob.score_from_existing(done.id)
    assert copy.id != done.id
    # the copy has a localFile intake: it waits for its own upload
    assert copy.get_status()["status"] == "INITIALIZING"
    copy.delete()


def test_aborting_a_running_job(
    dr: Any, deployment: str, server: ServeProcess, tmp_path: Path
) -> None:
    # 1,000,000 rows: the job runs for seconds, so it is still RUNNING when the abort comes
    source = patients_csv(tmp_path / "long.csv", copies=2000)
    with server.http() as http:
        created = http.post(
            "batchPredictions/",
            json={
                "deploymentId": deployment,
                "intakeSettings": {"type": "localFile"},
                "outputSettings": {"type": "localFile"},
                "chunkSize": 8192,
                "numConcurrent": 1,
            },
        ).json()
        upload = http.put(created["links"]["csvUpload"], content=source.read_bytes())
        assert upload.status_code == 202
    job = dr.BatchPredictionJob.get(created["id"])
    status = _wait(job, lambda s: s["status"] != "INITIALIZING")
    assert status["status"] == "RUNNING", status
    job.delete()
    with pytest.raises(dr.errors.AsyncProcessUnsuccessfulError):
        job.wait_for_completion(max_wait=120)
    final = job.get_status()
    assert final["status"] == "ABORTED"
    assert final["scored_rows"] < 1_000_000  # it stopped before the end
    with pytest.raises(RuntimeError, match="aborted"):
        job.download(io.BytesIO())  # no link any more: the client gives up on an ABORTED job


def _wait(job: Any, done: Any, timeout: float = 120.0) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, Any] = job.get_status()
        if done(status):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job.id} did not get there: {status}")


def test_definitions_through_the_client(dr: Any, deployment: str) -> None:
    spec = {
        "deployment_id": deployment,
        "intake_settings": {"type": "localFile"},
        "output_settings": {"type": "localFile"},
        "num_concurrent": 1,
    }
    definition = dr.BatchPredictionJobDefinition.create(
        enabled=False, batch_prediction_job=spec, name="e2e nightly"
    )
    assert definition.name == "e2e nightly"
    assert dr.BatchPredictionJobDefinition.get(definition.id).name == "e2e nightly"
    named = dr.BatchPredictionJobDefinition.list(search_name="e2e nig", limit=0)
    assert [d.id for d in named] == [definition.id]

    with pytest.raises(dr.errors.ClientError) as duplicate:
        dr.BatchPredictionJobDefinition.create(
            enabled=False, batch_prediction_job=spec, name="e2e nightly"
        )
    assert duplicate.value.status_code == 409 and "e2e nightly" in str(duplicate.value)

    generated = dr.BatchPredictionJobDefinition.create(enabled=False, batch_prediction_job=spec)
    assert generated.name and generated.name != definition.name

    definition.update(enabled=False, name="e2e renamed")
    assert dr.BatchPredictionJobDefinition.get(definition.id).name == "e2e renamed"

    definition.run_on_schedule(EVERY_MINUTE)
    scheduled = dr.BatchPredictionJobDefinition.get(definition.id)
    assert scheduled.enabled is True and scheduled.schedule["minute"] == ["*"]
    definition.update(enabled=False)
    assert dr.BatchPredictionJobDefinition.get(definition.id).enabled is False

    job = definition.run_once()
    assert job.get_status()["status"] == "INITIALIZING"  # localFile: it waits for its upload
    job.delete()

    definition.delete()
    generated.delete()
    with pytest.raises(dr.errors.ClientError) as gone:
        dr.BatchPredictionJobDefinition.get(definition.id)
    assert gone.value.status_code == 404


def test_one_upload_per_job_and_a_plain_download(
    dr: Any, deployment: str, server: ServeProcess, tmp_path: Path
) -> None:
    with server.http() as http:
        response = http.post(
            "batchPredictions/",
            json={
                "deploymentId": deployment,
                "intakeSettings": {"type": "localFile"},
                "outputSettings": {"type": "localFile"},
            },
        )
        job = response.json()
        assert http.put(job["links"]["csvUpload"], content=DATA.read_bytes()).status_code == 202
        again = http.put(job["links"]["csvUpload"], content=DATA.read_bytes())
        assert again.status_code == 409  # one upload per job
    finished = dr.BatchPredictionJob.get(job["id"])
    finished.wait_for_completion()
    with httpx.stream(
        "GET",
        job["links"]["self"] + "download/",
        headers={"Authorization": f"Token {server.token}", "Accept-Encoding": "gzip"},
        timeout=60,  # as server.http(): httpx's 5 s default is short for a loaded machine
    ) as stream:
        assert stream.status_code == 200
        assert "content-encoding" not in stream.headers
        assert stream.headers["content-type"].startswith("text/csv")
        body = stream.read()
    check_scored(pd.read_csv(io.BytesIO(body)))


def test_credentials_never_show_their_secrets(dr: Any, server: ServeProcess) -> None:
    basic = dr.Credential.create_basic(name="e2e db", user="reader", password="pw-secret-1")
    s3 = dr.Credential.create_s3(
        name="e2e s3", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="sk-secret-2"
    )
    listed = {c.credential_id for c in dr.Credential.list()}
    assert {basic.credential_id, s3.credential_id} <= listed
    with server.http() as http:
        bodies = [
            http.get("credentials/").text,
            http.get(f"credentials/{basic.credential_id}/").text,
            http.get(f"credentials/{s3.credential_id}/").text,
        ]
    for body in bodies:
        json.loads(body)
        for secret in ("pw-secret-1", "sk-secret-2", "AKIDEXAMPLE"):
            assert secret not in body
    basic.delete()
    s3.delete()


@pytest.mark.parametrize("store_for_server", ["sqlite"], indirect=True)  # a million rows: once
def test_the_download_streams_while_the_job_runs(
    dr: Any, deployment: str, server: ServeProcess, tmp_path: Path
) -> None:
    # long enough that the first bytes (published a second in) come well before the job ends
    rows = 1_000_000
    created = submit_local_job(server, deployment, patients_csv(tmp_path / "in.csv", rows // 500))
    job = dr.BatchPredictionJob.get(created["id"])
    running = _wait(job, lambda s: s["status"] != "INITIALIZING")
    assert running["status"] == "RUNNING" and "download" in running["links"]
    received = bytearray()
    seen_running_while_streaming = False
    with httpx.stream(
        "GET",
        running["links"]["download"],
        headers={"Authorization": f"Token {server.token}"},
        timeout=300,  # not httpx's 5 s between pieces: a loaded machine may pause longer
    ) as stream:
        for piece in stream.iter_bytes():
            received += piece
            if not seen_running_while_streaming and received:
                seen_running_while_streaming = job.get_status()["status"] == "RUNNING"
    assert seen_running_while_streaming  # bytes arrived before the job ended
    assert job.get_status()["status"] == "COMPLETED"
    frame = pd.read_csv(io.BytesIO(bytes(received)))
    check_scored(frame, rows=rows)
    with server.http() as http:
        assert http.get(running["links"]["download"]).content == bytes(received)


class _AbortOnFirstBytes(io.BytesIO):
    """A download target that calls ``abort`` (in a thread of its own) when its first bytes
    arrive."""

    def __init__(self, abort: Callable[[], object]) -> None:
        super().__init__()
        self._abort: Callable[[], object] | None = abort

    def write(self, data: Any) -> int:
        if self._abort is not None:
            threading.Thread(target=self._abort, daemon=True).start()
            self._abort = None
        return super().write(data)


def test_a_stream_cut_short_by_an_abort_is_reported_by_the_client(
    dr: Any, deployment: str, server: ServeProcess, tmp_path: Path
) -> None:
    created = submit_local_job(server, deployment, patients_csv(tmp_path / "in.csv", 2000))
    job = dr.BatchPredictionJob.get(created["id"])
    _wait(job, lambda s: s["status"] != "INITIALIZING" and s["scored_rows"] > 0)
    target = _AbortOnFirstBytes(job.delete)  # the abort comes once the stream has begun
    with pytest.raises(RuntimeError, match="was aborted"):
        job.download(target)  # the stream ends early; the final status check says ABORTED
    assert job.get_status()["status"] == "ABORTED"
    assert 0 < target.getvalue().count(b"\n") < 1_000_001  # a part of the rows, not all
