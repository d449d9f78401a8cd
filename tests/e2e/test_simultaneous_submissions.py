"""200 job submissions at once against a real ``scorecast serve`` on SQLite are all accepted.

Before each request unit of work became short and retried on a busy store, most of them got
HTTP 500 "database is locked". With two API processes (``--api-processes``) their writers
take turns at the database file's writer gate. No timing is asserted: only that every answer
is a 2xx and that exactly the submitted jobs exist.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from serving import ServeProcess, register_demo_model

pytestmark = pytest.mark.e2e

SUBMISSIONS = 200
#: generous: the requests queue for the store's single writer on a shared 2-core machine
REQUEST_TIMEOUT = 300.0


def _submit_all(server: ServeProcess, deployment: str) -> list[int | str]:
    start = threading.Barrier(SUBMISSIONS)
    answers: list[int | str] = [0] * SUBMISSIONS
    body = {
        "deploymentId": deployment,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }

    def submit(index: int) -> None:
        headers = {"Authorization": f"Token {server.token}"}
        with httpx.Client(base_url=server.endpoint + "/", headers=headers) as http:
            start.wait()
            try:
                response = http.post("batchPredictions/", json=body, timeout=REQUEST_TIMEOUT)
            except httpx.HTTPError as exc:
                answers[index] = repr(exc)
                return
            answers[index] = response.status_code if response.status_code < 300 else response.text

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.parametrize("api_processes", [1, 2])
def test_simultaneous_submissions_on_sqlite_are_all_accepted(
    api_processes: int, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    server = ServeProcess(
        home,
        f"sqlite:///{home / 'scorecast.db'}",
        "--workers",
        "2",
        env={"SCORECAST_API_PROCESSES": str(api_processes)},
    ).start()
    try:
        deployment = register_demo_model(server)
        answers = _submit_all(server, deployment)
        refused = [answer for answer in answers if answer != 202]
        assert not refused, f"{len(refused)} refused, e.g. {refused[:3]}\n{server.output()}"
        with server.http() as http:
            listed = http.get("batchPredictions/", params={"limit": 1}).json()
        assert listed["totalCount"] == SUBMISSIONS
    finally:
        server.stop()
