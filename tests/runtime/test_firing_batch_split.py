"""The service's batch firing on a real store gives the same fires whatever the batch size:
definitions that share a schedule and policies share one decision in a batch
(``service.fire_writer``), so a batch of one definition each must agree with one large batch,
over schedules, overlap and catch-up policies, active runs and downtime misses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rows import EVERY_MINUTE, add_definition, add_deployment, add_job, local_spec, org_and_user
from sqlalchemy import Engine, select

from scorecast.domain.schedule.liveness import AliveSpan
from scorecast.service.firing import fire_batch
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition, Organization, ScheduleFire

NOW = datetime(2026, 3, 2, 12, 0, 20, tzinfo=UTC)
EVERY_TEN = {**EVERY_MINUTE, "minute": [0, 10, 20, 30, 40, 50]}
DAILY_NOON = {**EVERY_MINUTE, "minute": [0], "hour": [12]}
SCHEDULES = [EVERY_MINUTE, EVERY_TEN, DAILY_NOON]
POLICIES: list[dict[str, Any] | None] = [
    None,
    {"overlapPolicy": "queue"},
    {"overlapPolicy": "cancelRunning"},
    {"overlapPolicy": "allow", "catchUp": {"windowSeconds": 7200, "maxRuns": 3}},
]
#: how long before NOW each definition's next fire time is (minutes; 0: due now)
BEHIND = [0, 3, 90]

Outcomes = dict[str, list[tuple[datetime, str, float | None]]]


def add_same_definitions(engine: Engine, org_name: str) -> None:
    """One definition per (schedule, policies, lateness, active run or not): the same names and
    settings in each organization; many share a schedule and policies."""
    org, user = org_and_user(engine, org_name)
    deployment = add_deployment(engine, org, user)
    for s, schedule in enumerate(SCHEDULES):
        for p, policies in enumerate(POLICIES):
            for b, minutes in enumerate(BEHIND):
                for active in (False, True):
                    name = f"s{s}-p{p}-b{b}-{'active' if active else 'idle'}"
                    definition = add_definition(
                        engine,
                        org,
                        user,
                        name=name,
                        enabled=True,
                        schedule=schedule,
                        policies=policies,
                        job_spec=local_spec(deployment),
                        next_scheduled_run_time=NOW.replace(second=0) - timedelta(minutes=minutes),
                    )
                    if active:
                        add_job(
                            engine,
                            org,
                            user,
                            definition_id=definition,
                            status="RUNNING",
                            created=NOW - timedelta(hours=3),
                        )


def fire_all(engine: Engine, size: int, *, alive: bool) -> None:
    own = AliveSpan(NOW - timedelta(days=1), NOW) if alive else None
    while True:
        with session_scope(engine, immediate=True) as session:
            handled = fire_batch(session, NOW, limit=size, own_span=own).handled
        if handled < size:
            return


def outcomes(engine: Engine, org_name: str) -> tuple[Outcomes, dict[str, list[str]]]:
    """Per definition name: its fires (time, outcome, lateness) and its jobs' statuses."""
    with session_scope(engine) as session:
        fires = session.execute(
            select(
                JobDefinition.name,
                ScheduleFire.scheduled_time,
                ScheduleFire.outcome,
                ScheduleFire.lateness_seconds,
            )
            .join(JobDefinition, JobDefinition.id == ScheduleFire.definition_id)
            .join(Organization, Organization.id == JobDefinition.org_id)
            .where(Organization.name == org_name)
            .order_by(JobDefinition.name, ScheduleFire.scheduled_time)
        ).all()
        jobs = session.execute(
            select(JobDefinition.name, Job.status)
            .join(JobDefinition, JobDefinition.id == Job.definition_id)
            .join(Organization, Organization.id == JobDefinition.org_id)
            .where(Organization.name == org_name)
            .order_by(JobDefinition.name, Job.status)
        ).all()
    by_fire: Outcomes = {}
    for name, moment, outcome, lateness in fires:
        by_fire.setdefault(name, []).append((moment, outcome, lateness))
    by_job: dict[str, list[str]] = {}
    for name, status in jobs:
        by_job.setdefault(name, []).append(status)
    return by_fire, by_job


@pytest.mark.parametrize("alive", [True, False], ids=["scheduler-alive", "after-downtime"])
def test_one_definition_per_batch_fires_the_same_as_one_batch(engine: Engine, alive: bool) -> None:
    results = []
    for size in (1, 7, 1000):
        org_name = f"split-{size}"
        add_same_definitions(engine, org_name)
        fire_all(engine, size, alive=alive)
        results.append(outcomes(engine, org_name))
    one_each, sevens, whole = results
    assert one_each == sevens == whole
    fires, _ = whole
    assert len(fires) == len(SCHEDULES) * len(POLICIES) * len(BEHIND) * 2
    recorded = {outcome for rows in fires.values() for _, outcome, _ in rows}
    assert {"started", "skipped", "queued"} <= recorded
    assert ("missed" in recorded) is not alive
