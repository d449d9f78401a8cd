"""What the backfill tests share: a definition to backfill, a pump whose rounds the test runs
(its thread is not started), and the released jobs ended by writing their status (no worker
runs them here). ``pump_fixture``: the test modules that use it import it (``# noqa: F401``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import Api
from sqlalchemy import update

from scorecast.runtime.backfill_pump import BackfillPump
from scorecast.store.db import session_scope
from scorecast.store.models import Job
from scorecast.store.types import utcnow

DAILY_0300 = {"minute": [0], "hour": [3], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}


@pytest.fixture(name="pump")
def pump_fixture(live_server: Any) -> Iterator[BackfillPump]:
    yield BackfillPump(live_server.engine, live_server.settings)


def backfill_definition(
    api: Api,
    deployment: str,
    root: Path,
    schedule: dict[str, Any] | None = DAILY_0300,
    *,
    output: str = "out-{scheduled_time}.csv",
    **policies: Any,
) -> str:
    """A disabled definition on ``schedule`` (None: none), reading ``root/in.csv`` and writing
    ``root/output``; its id."""
    body: dict[str, Any] = {
        "deploymentId": deployment,
        "intakeSettings": {"type": "filesystem", "url": (root / "in.csv").as_uri()},
        "outputSettings": {"type": "filesystem", "url": f"{root.as_uri()}/{output}"},
        "enabled": False,
        **policies,
    }
    if schedule is not None:
        body["schedule"] = schedule
    answer = api.post("batchPredictionJobDefinitions/", json=body)
    assert answer.status_code == 202, answer.text
    definition_id: str = answer.json()["id"]
    return definition_id


def end_waiting_jobs(live_server: Any, definition_id: str, status: str = "COMPLETED") -> int:
    """End the definition's jobs that wait with ``status``; how many."""
    with session_scope(live_server.engine) as session:
        ended = session.execute(
            update(Job)
            .where(Job.definition_id == definition_id, Job.status == "INITIALIZING")
            .values(status=status, queued=False, finished=utcnow())
        )
        return int(ended.rowcount)  # type: ignore[attr-defined]
