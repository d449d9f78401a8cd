"""A job process killed while it writes (the out-of-memory killer): the job ends FAILED and its
worker removes what the process staged at once: no open S3 multipart upload, no hidden staging
file next to a filesystem target (issue 14: crash debris)."""

# The fixtures imported from connector_servers are used as parameters, by name.
# ruff: noqa: F811

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from clouds import AnswerLog
from connector_servers import answers, http, moto, s3  # noqa: F401
from job_streams import wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model

pytestmark = pytest.mark.e2e

ROWS = 400_000  # about 20 MB of output: several multipart parts


def _until(condition: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        tick.wait(0.1)


@pytest.mark.parametrize("connector", ["s3", "filesystem"])
def test_a_killed_job_process_leaves_no_staged_output(
    connector: str, request: pytest.FixtureRequest, tmp_path: Path, answers: AnswerLog
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    home = tmp_path / "home"
    source = patients_csv(tmp_path / "input.csv", copies=ROWS // 500)
    env = {"SCORECAST_ALLOW_PRIVATE_ENDPOINTS": "1", "SCORECAST_FILE_ROOTS": str(root)}
    server = ServeProcess(
        home, f"sqlite:///{home / 'scorecast.db'}", "--workers", "1", env=env
    ).start()
    try:
        assert server.token
        deployment = register_demo_model(server)
        staged: Callable[[], list[Any]]
        if connector == "s3":
            client, endpoint = request.getfixturevalue("s3"), request.getfixturevalue("moto")
            key = f"dead/{tmp_path.name}.csv"
            with http(server, answers) as api:
                login = api.post(
                    "credentials/",
                    json={
                        "name": "dead",
                        "credentialType": "s3",
                        "awsAccessKeyId": "testing",
                        "awsSecretAccessKey": "testing",
                    },
                )
            output: dict[str, Any] = {
                "type": "s3",
                "url": f"s3://e2e/{key}",
                "endpointUrl": endpoint.endpoint,
                "credentialId": login.json()["credentialId"],
            }

            def staged() -> list[Any]:
                listed = client.list_multipart_uploads(Bucket="e2e", Prefix=key)
                return list(listed.get("Uploads", []))
        else:
            output = {"type": "filesystem", "url": (root / "scored.csv").as_uri()}

            def staged() -> list[Any]:
                return [p for p in root.iterdir() if p.name.startswith(".")]

        with server.http() as client_api:
            created = client_api.post(
                "batchPredictions/",
                json={
                    "deploymentId": deployment,
                    "intakeSettings": {"type": "localFile"},
                    "outputSettings": output,
                    "passthroughColumns": ["patient_id"],
                    "chunkSize": 65536,
                    "numConcurrent": 1,
                },
            )
            assert created.status_code == 202, created.text
            job = created.json()
            assert (
                client_api.put(job["links"]["csvUpload"], content=source.read_bytes()).status_code
                == 202
            )
            _until(lambda: bool(staged()), "the job to stage output")
            [process] = server.job_processes()
            process.kill()  # like the out-of-memory killer: no clean-up of its own
            done = wait_for_job(
                client_api,
                job["id"],
                lambda j: j["status"] in ("COMPLETED", "ABORTED", "FAILED"),
                timeout=180,
            )
            assert (done["status"], done["endReason"]) == ("ABORTED", "failed"), done
            assert "SIGKILL" in done["statusDetails"], done
            _until(lambda: not staged(), "the staged output to be removed")
    finally:
        server.stop()
