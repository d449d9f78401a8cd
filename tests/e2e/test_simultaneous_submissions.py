"""200 job submissions at once against a real ``scorecast serve`` on SQLite are all accepted.

Before each request unit of work became short and retried on a busy store, most of them got
HTTP 500 "database is locked". No timing is asserted: only that every answer is a 2xx and
that exactly the submitted jobs exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from serving import ServeProcess, register_demo_model, submit_all

pytestmark = pytest.mark.e2e

SUBMISSIONS = 200


def test_simultaneous_submissions_on_sqlite_are_all_accepted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = ServeProcess(home, f"sqlite:///{home / 'scorecast.db'}", "--workers", "2").start()
    try:
        deployment = register_demo_model(server)
        answers = submit_all(server, deployment, SUBMISSIONS)
        refused = [answer for answer in answers if answer != 202]
        assert not refused, f"{len(refused)} refused, e.g. {refused[:3]}\n{server.output()}"
        with server.http() as http:
            listed = http.get("batchPredictions/", params={"limit": 1}).json()
        assert listed["totalCount"] == SUBMISSIONS
    finally:
        server.stop()
