"""What a backfill's times end as, on both stores: a job's outcome outlives its row (retention
prunes it), a cancel leaves the times whose job never ran free for a later backfill, and
deleting the definition aborts the backfill's waiting jobs.

Jobs are ended by writing their status (no worker runs here).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    deployment_a_fixture,
)
from backfill_rows import backfill_definition, pump_fixture  # noqa: F401 (the pump fixture)
from sqlalchemy import select, text, update

from live_api import file_root_settings_fixture  # noqa: F401 (the settings fixture)
from scorecast.config import RetentionSettings
from scorecast.runtime import retention_sweep
from scorecast.runtime.backfill_pump import BackfillPump
from scorecast.store.db import session_scope
from scorecast.store.models import BackfillFire, Job, JobDefinition, ScheduleFire
from scorecast.store.types import utcnow

FOUR_DAYS = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-05T00:00:00Z"}


def _statuses(live_server: Any, definition_id: str) -> list[str]:
    with session_scope(live_server.engine) as session:
        return list(
            session.scalars(
                select(Job.status)
                .where(Job.definition_id == definition_id)
                .order_by(Job.scheduled_time, Job.created)
            ).all()
        )


def test_a_pruned_job_keeps_its_outcome_in_the_progress(
    api_a: Api, deployment_a: str, live_server: Any, pump: BackfillPump
) -> None:
    """Failed jobs that retention then prunes stay ``failed`` (they used to count as done)."""
    root = live_server.settings.file_roots[0]
    retention = {"maxJobs": 1, "maxAgeDays": None, "keepLastSuccessful": True}
    definition_id = backfill_definition(api_a, deployment_a, root, retention=retention)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    backfill = api_a.post(path, json={**FOUR_DAYS, "maxConcurrent": 4}).json()
    finished = utcnow() - timedelta(minutes=1)
    with session_scope(live_server.engine) as session:  # three fail, one completes
        jobs = session.scalars(
            select(Job).where(Job.definition_id == definition_id).order_by(Job.scheduled_time)
        ).all()
        for number, job in enumerate(jobs):
            job.status = "COMPLETED" if number == 0 else "FAILED"
            job.queued, job.finished = False, finished
    pump.round()  # records the outcomes
    settings = dataclasses.replace(
        live_server.settings,
        retention=RetentionSettings(max_jobs=None, max_age_days=None, prune_after_days=0),
    )
    swept = retention_sweep.sweep(settings, live_server.engine)
    assert len(swept.rows_pruned) == 2  # the two older failed ones; the newest and the
    assert len(_statuses(live_server, definition_id)) == 2  # last completed stay
    pump.round()
    done = api_a.get(f"{path}{backfill['id']}/").json()
    assert done["status"] == "completed"
    assert (done["progress"]["done"], done["progress"]["failed"]) == (1, 3)
    with session_scope(live_server.engine) as session:
        recorded = session.scalars(
            select(BackfillFire.job_status)
            .where(BackfillFire.backfill_id == backfill["id"])
            .order_by(BackfillFire.scheduled_time)
        ).all()
    assert recorded == ["COMPLETED", "FAILED", "FAILED", "FAILED"]


def test_times_whose_job_a_cancel_aborted_run_in_a_later_backfill(
    api_a: Api, deployment_a: str, live_server: Any, pump: BackfillPump
) -> None:
    """The cancel aborts the waiting jobs and drops their fire rows: those times never ran, so
    the same range again (without rerun) runs all four times (the aborted ones were skipped as
    "already has a fire")."""
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    first = api_a.post(path, json={**FOUR_DAYS, "maxConcurrent": 2}).json()
    cancelled = api_a.delete(f"{path}{first['id']}/").json()
    assert (cancelled["progress"]["aborted"], cancelled["progress"]["cancelled"]) == (2, 2)
    fires = api_a.get(f"batchPredictionJobDefinitions/{definition_id}/fires/").json()
    assert fires["totalCount"] == 0

    again = api_a.post(path, json=FOUR_DAYS).json()
    assert again["progress"]["skipped"] == 0 and again["progress"]["total"] == 4
    for _ in range(5):
        with session_scope(live_server.engine) as session:
            session.execute(
                update(Job)
                .where(Job.definition_id == definition_id, Job.status == "INITIALIZING")
                .values(status="COMPLETED", queued=False)
            )
        pump.round()
    done = api_a.get(f"{path}{again['id']}/").json()
    assert done["status"] == "completed" and done["progress"]["done"] == 4
    assert _statuses(live_server, definition_id).count("COMPLETED") == 4


def test_a_rerun_cancel_keeps_the_fire_row_it_took_over(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    """A time that had run before keeps its fire row when a rerun's job for it is aborted by a
    cancel: it did run once."""
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    one_day = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    api_a.post(path, json=one_day)
    with session_scope(live_server.engine) as session:
        session.execute(
            update(Job).where(Job.definition_id == definition_id).values(status="COMPLETED")
        )
    rerun = api_a.post(path, json={**one_day, "rerun": True}).json()
    assert rerun["progress"]["waiting"] == 1
    api_a.delete(f"{path}{rerun['id']}/")
    with session_scope(live_server.engine) as session:
        kept = session.scalars(
            select(ScheduleFire.reason).where(ScheduleFire.definition_id == definition_id)
        ).all()
    assert len(kept) == 1 and kept[0] is not None and kept[0].startswith("rerun by backfill")


def test_deleting_the_definition_aborts_its_backfills_waiting_jobs(
    api_a: Api, deployment_a: str, live_server: Any, pump: BackfillPump
) -> None:
    """The backfill goes with its definition; its jobs still waiting end ``ABORTED`` (they
    used to stay waiting, run later, with nothing left to cancel them); a running one
    finishes."""
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    api_a.post(path, json={**FOUR_DAYS, "maxConcurrent": 3})
    with session_scope(live_server.engine) as session:  # the first one is running
        running = session.scalars(
            select(Job).where(Job.definition_id == definition_id).order_by(Job.scheduled_time)
        ).first()
        assert running is not None
        running.status = "RUNNING"
    deleted = api_a.delete(f"batchPredictionJobDefinitions/{definition_id}/")
    assert deleted.status_code == 204, deleted.text
    pump.round()
    assert _statuses(live_server, definition_id) == ["RUNNING", "ABORTED", "ABORTED"]


def test_a_cancel_never_deadlocks_with_a_claim(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    """PostgreSQL: a worker's claim locks its job, then updates the definition. A cancel that
    noted an abort on the definition before locking the next job deadlocked with it (503);
    the cancel now locks its waiting jobs first and leaves the one being claimed to run."""
    if live_server.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite has one writer at a time)")
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    backfill = api_a.post(path, json={**FOUR_DAYS, "maxConcurrent": 4}).json()
    with session_scope(live_server.engine) as session:
        ids = session.scalars(
            select(Job.id).where(Job.definition_id == definition_id).order_by(Job.created)
        ).all()
    answers: list[Any] = []
    claim = live_server.engine.connect()
    try:
        with claim.begin():
            # what a claim does first: lock its job
            claim.execute(select(Job.id).where(Job.id == ids[-1]).with_for_update())
            cancelling = threading.Thread(
                target=lambda: answers.append(api_a.delete(f"{path}{backfill['id']}/"))
            )
            cancelling.start()
            with live_server.engine.connect() as watch:  # until it waits or has answered
                deadline = time.monotonic() + 120
                while cancelling.is_alive() and time.monotonic() < deadline:
                    waiting = watch.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                        )
                    ).scalar()
                    if waiting:
                        break
                    time.sleep(0.05)
            # then the claim notes the run on the definition
            claim.execute(
                update(JobDefinition)
                .where(JobDefinition.id == definition_id)
                .values(updated=JobDefinition.updated)
            )
    finally:
        claim.close()
    cancelling.join(120)
    assert answers and answers[0].status_code == 202, answers and answers[0].text
    assert _statuses(live_server, definition_id).count("ABORTED") == len(ids) - 1
