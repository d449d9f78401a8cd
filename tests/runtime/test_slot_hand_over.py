"""While jobs wait, the transaction that ends a job COMPLETED claims the slot's next job, which
the same job thread runs next (``Worker._run``, ``StoreLedger.claim_next``): a real worker,
job process and store (both backends), jobs submitted over HTTP before the worker starts.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from demo_jobs import register_demo, submit_demo, until
from sqlalchemy import select

from live_api import LiveServer
from scorecast.demo import DATA
from scorecast.runtime.worker import Worker
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobLog

ROWS = b"".join(DATA.read_bytes().splitlines(keepends=True)[:11])


@pytest.mark.e2e
def test_each_job_is_claimed_by_the_end_of_the_one_before_in_one_slot(
    live_server: LiveServer,
) -> None:
    with httpx.Client(
        base_url=live_server.url + "/", headers=live_server.headers(), timeout=60
    ) as http:
        deployment = register_demo(http)
        job_ids = [submit_demo(http, deployment, ROWS)["id"] for _ in range(4)]
        worker = Worker(live_server.settings, live_server.engine, slots=1, lease_seconds=5.0)
        worker.start()
        try:
            states: dict[str, Any] = {}

            def all_ended() -> bool:
                for job_id in job_ids:
                    states[job_id] = http.get(f"batchPredictions/{job_id}/").json()
                return all(
                    state["status"] in ("COMPLETED", "ABORTED", "FAILED")
                    for state in states.values()
                )

            until(all_ended, timeout=180)
        finally:
            worker.stop()
    assert [states[job_id]["status"] for job_id in job_ids] == ["COMPLETED"] * 4
    assert len({worker.job_process_ids[job_id] for job_id in job_ids}) == 1
    with session_scope(live_server.engine) as session:
        jobs = sorted(
            session.scalars(select(Job).where(Job.id.in_(job_ids))), key=lambda job: job.started
        )
        # the job after another started in the transaction that finished it: at the same time
        for before, after in itertools.pairwise(jobs):
            assert after.started == before.finished
        for job in jobs:  # its lines, stored with its end, come before the end's own line
            lines = list(
                session.scalars(
                    select(JobLog.message).where(JobLog.job_id == job.id).order_by(JobLog.id)
                )
            )
            assert any(line.startswith("scoring with") for line in lines), lines
            assert lines[-1].startswith("Job completed at"), lines
