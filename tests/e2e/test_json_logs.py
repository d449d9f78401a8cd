"""``SCORECAST_LOG_FORMAT=json``: every line ``scorecast serve`` logs is one JSON object, API
requests carry the request id the client got back, and a job's lines (from the worker and from
the job process) carry its job id."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from serving import ServeProcess, patients_csv, register_demo_model, submit_local_job

pytestmark = pytest.mark.e2e


def test_json_logs_carry_request_and_job_ids(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = ServeProcess(
        home,
        f"sqlite:///{home / 'scorecast.db'}",
        "--log-level",
        "debug",
        env={"SCORECAST_LOG_FORMAT": "json"},
    ).start()
    try:
        deployment = register_demo_model(server)
        job = submit_local_job(server, deployment, patients_csv(tmp_path / "in.csv"))
        with server.http() as http:
            # a deadline, not a number of polls: 600 quick polls can all come before the end
            deadline = time.monotonic() + 180
            while True:
                answer = http.get(f"batchPredictions/{job['id']}/")
                if answer.json()["status"] in ("COMPLETED", "FAILED", "ABORTED"):
                    break
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.1)
            request_id = answer.headers["x-request-id"]
            assert answer.json()["status"] == "COMPLETED", answer.text
    finally:
        assert server.stop() == 0
    lines = [line for line in (home / "serve.log").read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e.get("request_id") == request_id for e in entries)
    job_lines = [e for e in entries if e.get("job_id") == job["id"]]
    assert {e["logger"] for e in job_lines} >= {"scorecast.worker"}, job_lines
