"""A backfill of an enabled definition beside its live schedule, on both stores: the live
fires' overlap policy weighs the live runs only. A backfill's waiting jobs neither skip nor
queue a live fire, nor are aborted by ``cancelRunning``; its own ``maxConcurrent`` bounds
them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    deployment_a_fixture,
)
from sqlalchemy import select

from live_api import file_root_settings_fixture  # noqa: F401 (the settings fixture)
from scorecast.service.firing import fire_due_definitions
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition
from scorecast.store.types import utcnow

HOURLY = {"minute": [0], "hour": ["*"], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}


@pytest.mark.parametrize("policy", ["skip", "queue", "cancelRunning"])
def test_live_fires_ignore_the_backfills_jobs(
    api_a: Api, deployment_a: str, live_server: Any, policy: str
) -> None:
    root = live_server.settings.file_roots[0]
    body = {
        "deploymentId": deployment_a,
        "enabled": True,
        "schedule": HOURLY,
        "overlapPolicy": policy,
        "intakeSettings": {"type": "filesystem", "url": (root / "in.csv").as_uri()},
        "outputSettings": {
            "type": "filesystem",
            "url": root.as_uri() + "/out-{scheduled_time}.csv",
        },
    }
    answer = api_a.post("batchPredictionJobDefinitions/", json=body)
    assert answer.status_code == 202, answer.text
    definition_id = answer.json()["id"]
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    backfill_range = {
        "start": (hour - timedelta(days=30)).isoformat(),
        "end": (hour - timedelta(days=29)).isoformat(),
        "maxConcurrent": 2,
    }
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    backfill = api_a.post(path, json=backfill_range)
    assert backfill.status_code == 202, backfill.text

    with session_scope(live_server.engine) as session:
        due = session.scalar(
            select(JobDefinition.next_scheduled_run_time).where(JobDefinition.id == definition_id)
        )
        assert due is not None
        fires = fire_due_definitions(session, due + timedelta(seconds=5))
    assert [fire.outcome.value for fire in fires] == ["started"]
    assert fires[0].reason is None

    with session_scope(live_server.engine) as session:
        jobs = session.scalars(select(Job).where(Job.definition_id == definition_id)).all()
        by_source = {
            source: [job for job in jobs if job.source == source]
            for source in ("backfill", "scheduled")
        }
    assert [job.status for job in by_source["backfill"]] == ["INITIALIZING", "INITIALIZING"]
    assert not any(job.abort_requested for job in by_source["backfill"])
    (live,) = by_source["scheduled"]
    assert live.status == "INITIALIZING" and not live.after_previous
    progress = api_a.get(f"{path}{backfill.json()['id']}/").json()["progress"]
    assert (progress["waiting"], progress["aborted"]) == (2, 0)
