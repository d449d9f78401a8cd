"""The worker keeps one job process warm while no job runs, lets it go once the service has been
idle for its idle time, and starts one again after the next job (both stores)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from demo_jobs import score_demo, until

from scorecast.runtime.worker import Worker

# the spare lives this long after the worker starts and after a job: the test must see it
# within that window, so it is not a few seconds a loaded 2-core CI machine can stall through
IDLE_SECONDS = 10.0


@pytest.mark.e2e
def test_the_spare_job_process_is_let_go_when_idle_and_comes_back_after_a_job(
    live_server: Any,
) -> None:
    worker = Worker(
        live_server.settings, live_server.engine, lease_seconds=5.0, spare_idle_seconds=IDLE_SECONDS
    )
    worker.start()
    try:
        until(lambda: worker.spare_process is not None and worker.spare_process.alive)
        first = worker.spare_process
        assert first is not None
        until(lambda: worker.spare_process is None, timeout=IDLE_SECONDS + 120)
        until(lambda: first.process.returncode is not None, timeout=120)  # (the worker reaps it)
        assert first.process.returncode == 0  # it saw its connection close and went away

        with httpx.Client(
            base_url=live_server.url + "/", headers=live_server.headers(), timeout=60
        ) as http:
            state = score_demo(http)  # no spare: the job starts its own process
        assert state["status"] == "COMPLETED", state
        assert state["scoredRows"] == 500
        # a job just ended: a spare is kept again for the next one
        until(lambda: worker.spare_process is not None and worker.spare_process.alive)
    finally:
        worker.stop()
    assert worker.spare_process is None
