"""What the official client's polls meet on a real ``scorecast serve`` (issue 15).

- Idle gaps around the client's 5 s poll interval never cost its connection (uvicorn's own
  keep-alive was 5 s, and the client does not retry a reset on a reused connection).
- A wrong token fails at ``dr.Client(...)`` (``version/`` needs a token).
- Every unsuccessful end (a missing file, an unreachable endpoint, an input the model cannot
  score, a crashed job process) makes ``wait_for_completion()`` raise
  ``AsyncProcessUnsuccessfulError`` instead of polling until its ``max_wait``: the wire shows
  ``ABORTED``, ``statusDetails`` names the cause and ``endReason`` says ``failed``, while a user
  abort says ``aborted``. ``list_by_status(["ABORTED"])`` finds both; ``status=FAILED`` only
  the failures.
- An unknown placeholder in a location is a 422 the client raises as ``ClientError``.

The waits here are the gaps and polls themselves; nothing asserts how long anything took.
``max_wait`` is generous: it only turns a job that is never seen to end into a failing test.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from job_streams import wait_for_job
from serving import ServeProcess, patients_csv, submit_local_job

from services import free_port

pytestmark = pytest.mark.e2e

#: the official client's ``wait_for_completion`` sleeps 5 s between polls
POLL_GAPS = (4.9, 4.97, 5.0, 5.03, 5.1, 6.0)
MAX_WAIT = 300
CRASH_ROWS = 600_000


@pytest.fixture(scope="module")
def file_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("files")


@pytest.fixture(scope="module")
def server(store_for_server: tuple[Path, str], file_root: Path) -> Iterator[ServeProcess]:
    """``scorecast serve`` with a file root and private endpoints allowed (a closed local port
    stands for an unreachable storage endpoint)."""
    home, url = store_for_server
    env = {"SCORECAST_FILE_ROOTS": str(file_root), "SCORECAST_ALLOW_PRIVATE_ENDPOINTS": "1"}
    process = ServeProcess(home, url, "--workers", "2", env=env).start()
    try:
        assert process.token, process.output()
        yield process
    finally:
        process.stop()


def _pool(dr: Any, endpoint: str) -> Any:
    """The urllib3 connection pool the official client's session uses for ``endpoint``."""
    session = dr.client.get_client()
    return session.get_adapter(endpoint).poolmanager.connection_from_url(endpoint)


def test_idle_gaps_around_the_poll_interval_keep_the_connection(
    dr: Any, server: ServeProcess
) -> None:
    session = dr.client.get_client()
    assert session.get("version/").status_code == 200
    pool = _pool(dr, server.endpoint)
    opened = pool.num_connections
    for gap in POLL_GAPS:
        time.sleep(gap)  # the idle gap itself, as between two of the client's polls
        response = session.get("version/")  # a reset would raise ConnectionError here
        assert response.status_code == 200, (gap, response.text)
    # the same connection served every request: the server never closed it while idle
    assert pool.num_connections == opened, server.output()


def test_a_wrong_token_fails_when_the_client_is_made(dr: Any, server: ServeProcess) -> None:
    with pytest.raises(dr.errors.ClientError, match="Unable to authenticate"):
        dr.Client(endpoint=server.endpoint, token="not-a-token")
    dr.Client(endpoint=server.endpoint, token=server.token)  # the module's client again


def _expect_failure(dr: Any, job: Any, cause: str) -> dict[str, Any]:
    """``wait_for_completion`` raises; the job shows ABORTED, endReason failed, the cause."""
    with pytest.raises(dr.errors.AsyncProcessUnsuccessfulError):
        job.wait_for_completion(max_wait=MAX_WAIT)
    record: dict[str, Any] = dr.client.get_client().get(f"batchPredictions/{job.id}/").json()
    assert record["status"] == "ABORTED", record
    assert record["endReason"] == "failed", record
    assert cause.lower() in record["statusDetails"].lower(), record
    return record


def _filesystem_job(dr: Any, deployment: str, source: Path, target: Path) -> Any:
    """Submitted through the client's session: the client knows no ``filesystem`` type."""
    response = dr.client.get_client().post(
        "batchPredictions/",
        json={
            "deploymentId": deployment,
            "intakeSettings": {"type": "filesystem", "url": source.as_uri()},
            "outputSettings": {"type": "filesystem", "url": target.as_uri()},
        },
    )
    return dr.BatchPredictionJob.get(response.json()["id"])


def test_a_missing_file_raises_at_the_next_poll(dr: Any, deployment: str, file_root: Path) -> None:
    job = _filesystem_job(dr, deployment, file_root / "absent.csv", file_root / "never.csv")
    _expect_failure(dr, job, "absent.csv")
    assert not (file_root / "never.csv").exists()


def test_an_unreachable_endpoint_raises_at_the_next_poll(dr: Any, deployment: str) -> None:
    credential = dr.Credential.create_s3(
        "closed port", aws_access_key_id="AKIDCLOSED", aws_secret_access_key="closed-secret"
    )
    endpoint = f"http://127.0.0.1:{free_port()}"
    job = dr.BatchPredictionJob.score_s3(
        deployment,
        source_url="s3://nowhere/in.csv",
        destination_url="s3://nowhere/out.csv",
        credential=credential,
        endpoint_url=endpoint,
    )
    _expect_failure(dr, job, "nowhere")


def test_an_input_the_model_cannot_score_raises_at_the_next_poll(
    dr: Any, deployment: str, tmp_path: Path
) -> None:
    source = tmp_path / "no_features.csv"
    source.write_text("colour,size\nred,1\nblue,2\n")
    job = dr.BatchPredictionJob.score(
        deployment, intake_settings={"type": "localFile", "file": str(source)}
    )
    _expect_failure(dr, job, "lacks the model's feature columns")


def test_a_crashed_job_process_raises_at_the_next_poll(
    dr: Any, server: ServeProcess, deployment: str, tmp_path: Path
) -> None:
    source = patients_csv(tmp_path / "big.csv", copies=CRASH_ROWS // 500)
    created = submit_local_job(server, deployment, source)
    # RUNNING is stored when the worker claims the job, a moment before it hands the job to a
    # job process: killed then, the spare would be replaced and the job complete. Its output
    # segments are written by the job process itself, so once they exist that process runs it.
    output = server.home / "results" / created["id"] / "attempt-1"
    with server.http() as http:
        wait_for_job(
            http,
            created["id"],
            lambda j: j["status"] != "INITIALIZING" and output.exists(),
            timeout=MAX_WAIT,
        )
    running = server.job_processes()
    assert running, server.output()
    for process in running:
        os.kill(process.pid, signal.SIGKILL)
    _expect_failure(dr, dr.BatchPredictionJob.get(created["id"]), "SIGKILL")


def test_a_user_abort_is_told_from_a_failure_and_lists_find_both(
    dr: Any, server: ServeProcess, deployment: str, file_root: Path
) -> None:
    failed = _filesystem_job(dr, deployment, file_root / "gone.csv", file_root / "gone-out.csv")
    _expect_failure(dr, failed, "gone.csv")
    with server.http() as http:
        waiting = http.post(
            "batchPredictions/",
            json={"deploymentId": deployment, "intakeSettings": {"type": "localFile"}},
        ).json()  # never uploaded: it waits until aborted
    aborted = dr.BatchPredictionJob.get(waiting["id"])
    aborted.delete()
    with pytest.raises(dr.errors.AsyncProcessUnsuccessfulError):
        aborted.wait_for_completion(max_wait=MAX_WAIT)
    record = dr.client.get_client().get(f"batchPredictions/{aborted.id}/").json()
    assert (record["status"], record["endReason"]) == ("ABORTED", "aborted"), record

    listed = {job["id"]: job for job in dr.BatchPredictionJob.list_by_status(["ABORTED"])}
    assert {failed.id, aborted.id} <= set(listed)
    assert listed[failed.id]["endReason"] == "failed"
    assert listed[aborted.id]["endReason"] == "aborted"
    with server.http() as http:
        only_failed = http.get("batchPredictions/", params={"status": "FAILED"}).json()
    failed_ids = {job["id"] for job in only_failed["data"]}
    assert failed.id in failed_ids and aborted.id not in failed_ids
    assert {job["endReason"] for job in only_failed["data"]} == {"failed"}
    completed = dr.BatchPredictionJob.list_by_status(["COMPLETED"])
    assert not {failed.id, aborted.id} & {job["id"] for job in completed}


def test_an_unknown_placeholder_is_a_422_through_the_client(dr: Any, deployment: str) -> None:
    credential = dr.Credential.create_s3(
        "templated", aws_access_key_id="AKIDTEMPLATE", aws_secret_access_key="template-secret"
    )
    with pytest.raises(dr.errors.ClientError) as refused:
        dr.BatchPredictionJob.score_s3(
            deployment,
            source_url="s3://bucket/in.csv",
            destination_url="s3://bucket/scored_{name}.csv",
            credential=credential,
            endpoint_url=f"http://127.0.0.1:{free_port()}",
        )
    assert refused.value.status_code == 422
    problem = refused.value.json["errors"]["outputSettings"]["url"]
    assert problem.startswith("unknown placeholder {name}; valid: {attempt}, {created_time}")
