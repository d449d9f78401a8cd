"""No scheduled time ever gets two jobs: backfills (with and without rerun), their releases,
the scheduler and jobs ending, interleaved at random on a real store (both backends).

After every step: at most one job per scheduled time waits or runs; without a rerun backfill
every time has at most one job; a time's fire row names its newest job; no backfill has more
than ``maxConcurrent`` jobs waiting or running; and each backfill's times are exactly the
schedule's fire times in its range.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rows import add_definition, add_deployment, org_and_user
from sqlalchemy import Engine, select, update

from hypothesis_profiles import examples
from scorecast.config import Settings
from scorecast.domain.schedule import parse_schedule
from scorecast.domain.schedule.backfill_plan import fire_times_between
from scorecast.service.backfill_release import active_jobs, release_backfills
from scorecast.service.backfills import BackfillRequest, create_backfill
from scorecast.service.caller import Caller
from scorecast.service.firing import fire_due_definitions
from scorecast.store.db import session_scope
from scorecast.store.models import Backfill, BackfillFire, Job, ScheduleFire, User
from scorecast.store.types import new_id

HOURLY = {"minute": [0], "hour": ["*"], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}
BASE = datetime(2026, 3, 1, tzinfo=UTC)

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("backfill"),
            st.integers(0, 40),  # start, hours after BASE
            st.integers(1, 12),  # length in hours
            st.booleans(),  # rerun
            st.integers(1, 4),  # maxConcurrent
        ),
        st.tuples(st.just("release")),
        st.tuples(st.just("finish"), st.sampled_from(["COMPLETED", "FAILED"]), st.integers(1, 5)),
        st.tuples(st.just("fire"), st.integers(0, 3)),  # the clock moves on 0..3 hours
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def app_settings(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    root = tmp_path / "files"
    root.mkdir()
    monkeypatch.setenv("SCORECAST_FILE_ROOTS", str(root))
    return Settings.from_env()


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps)
def test_no_scheduled_time_gets_two_jobs(
    engine: Engine, app_settings: Settings, plan: list[tuple[Any, ...]]
) -> None:
    org, user = org_and_user(engine, f"org-{new_id()}")
    deployment = add_deployment(engine, org, user)
    root = app_settings.file_roots[0]
    definition_id = add_definition(
        engine,
        org,
        user,
        enabled=True,
        schedule=HOURLY,
        job_spec={
            "deploymentId": deployment,
            "intakeSettings": {"type": "filesystem", "url": (root / "in.csv").as_uri()},
            "outputSettings": {"type": "filesystem", "url": root.as_uri() + "/out.csv"},
        },
        next_scheduled_run_time=BASE + timedelta(hours=30),
    )
    with session_scope(engine) as session:
        account = session.get(User, user)
        assert account is not None
        caller = Caller(org_id=org, user_id=user, username=account.username)
    clock = BASE + timedelta(hours=30, minutes=5)
    reruns = False
    for step in plan:
        with session_scope(engine, immediate=True) as session:
            if step[0] == "backfill":
                _, start, hours, rerun, most = step
                begin = BASE + timedelta(hours=start)
                request = BackfillRequest(
                    begin, min(begin + timedelta(hours=hours), clock), most, rerun
                )
                if request.end > request.start:
                    create_backfill(session, caller, definition_id, request, clock)
                    reruns = reruns or rerun
            elif step[0] == "release":
                release_backfills(session, clock, app_settings=app_settings)
            elif step[0] == "finish":
                waiting = session.scalars(
                    select(Job.id)
                    .where(Job.definition_id == definition_id, Job.status == "INITIALIZING")
                    .order_by(Job.scheduled_time)
                    .limit(step[2])
                ).all()
                session.execute(
                    update(Job).where(Job.id.in_(waiting)).values(status=step[1], queued=False)
                )
            else:
                clock += timedelta(hours=step[1])
                fire_due_definitions(session, clock)
        _check(engine, definition_id, reruns=reruns)


def _check(engine: Engine, definition_id: str, *, reruns: bool) -> None:
    with session_scope(engine) as session:
        jobs = session.scalars(
            select(Job).where(Job.definition_id == definition_id).order_by(Job.created, Job.id)
        ).all()
        active = Counter(j.scheduled_time for j in jobs if j.status in {"INITIALIZING", "RUNNING"})
        assert all(count == 1 for count in active.values()), active
        per_time = Counter(job.scheduled_time for job in jobs)
        if not reruns:
            assert all(count == 1 for count in per_time.values()), per_time
        newest = {job.scheduled_time: job.id for job in jobs}
        fires = {
            fire.scheduled_time: fire.job_id
            for fire in session.scalars(
                select(ScheduleFire).where(ScheduleFire.definition_id == definition_id)
            ).all()
        }
        for moment, job_id in newest.items():
            assert fires.get(moment) == job_id, (moment, fires.get(moment), job_id)
        for backfill in session.scalars(
            select(Backfill).where(Backfill.definition_id == definition_id)
        ).all():
            assert active_jobs(session, backfill.id) <= backfill.max_concurrent
            times = session.scalars(
                select(BackfillFire.scheduled_time)
                .where(BackfillFire.backfill_id == backfill.id)
                .order_by(BackfillFire.scheduled_time)
            ).all()
            schedule = parse_schedule(HOURLY)
            assert times == fire_times_between(schedule, backfill.start_time, backfill.end_time)
