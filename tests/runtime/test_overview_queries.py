"""The console's reads over a real store (SQLite and PostgreSQL): the next fires of many
definitions are exactly the soonest ones whatever the page limit, the queue positions of a
page of jobs, computed in one query, equal each job's own count, and the overview's and the
calendar's other reads show only the caller's organization."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from rows import add_definition, add_job, org_and_user
from sqlalchemy import Engine

from scorecast.domain.schedule import next_fire_after, parse_schedule
from scorecast.service import job_views, jobs, overview
from scorecast.service.caller import Caller
from scorecast.service.job_views import queue_positions
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition, ScheduleFire

NOW = datetime(2026, 3, 28, 22, 17, tzinfo=UTC)  # the night before London's clocks go forward


def _schedule(rng: random.Random) -> dict[str, object]:
    return {
        "minute": sorted(rng.sample(range(60), rng.randint(1, 3))),
        "hour": ["*"] if rng.random() < 0.5 else sorted(rng.sample(range(24), rng.randint(1, 4))),
        "dayOfMonth": ["*"],
        "month": ["*"],
        "dayOfWeek": ["*"],
        **({"timezone": "Europe/London"} if rng.random() < 0.3 else {}),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_upcoming_fires_are_the_soonest_for_any_limit(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    org_id, user_id = org_and_user(engine)
    other_org, other_user = org_and_user(engine, "org-b")
    horizon = timedelta(hours=24)
    every: list[tuple[datetime, str]] = []
    for index in range(25):
        payload = _schedule(rng)
        schedule = parse_schedule(payload)
        first = next_fire_after(schedule, NOW)
        enabled = rng.random() < 0.8
        definition_id = add_definition(
            engine,
            org_id,
            user_id,
            name=f"d{index}",
            schedule=payload,
            enabled=enabled,
            next_scheduled_run_time=first if enabled else None,
        )
        moment = first
        while enabled and moment is not None and moment <= NOW + horizon:
            every.append((moment, definition_id))
            moment = next_fire_after(schedule, moment)
    add_definition(  # another organization's never shows
        engine,
        other_org,
        other_user,
        name="theirs",
        schedule=_schedule(rng),
        enabled=True,
        next_scheduled_run_time=NOW + timedelta(minutes=1),
    )
    every.sort()
    caller = Caller(org_id, user_id, "admin")
    with session_scope(engine) as session:
        for limit in (1, 3, 10, 40, 1000):
            found = overview.upcoming_fires(session, caller, NOW, horizon, limit=limit)
            assert [(f.moment, f.definition.id) for f in found] == every[:limit]


@pytest.mark.parametrize("behind_counted", [3, 500])
def test_queue_positions_of_a_page_equal_each_jobs_own_count(
    engine: Engine, behind_counted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether the jobs waiting ahead come from the queue tally less those behind (fewer than
    ``BEHIND_COUNTED`` waiting from the first on) or are counted (3: most pages here)."""
    monkeypatch.setattr(job_views, "BEHIND_COUNTED", behind_counted)
    org_id, user_id = org_and_user(engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(7)
    for index in range(60):
        waiting = rng.random() < 0.7
        add_job(
            engine,
            org_id,
            user_id,
            created=start + timedelta(seconds=index // 3),  # ties on created: the id decides
            status="INITIALIZING" if waiting else "COMPLETED",
            queued=waiting,
            abort_requested=waiting and rng.random() < 0.1,
        )
    with session_scope(engine) as session:
        jobs = list(session.query(Job).all())
        claim_order = sorted(
            (
                j
                for j in jobs
                if j.status == "INITIALIZING"
                and j.queued
                and j.intake_ready
                and not j.abort_requested
            ),
            key=lambda j: (j.created, j.id),
        )
        expected = {job.id: index for index, job in enumerate(claim_order)}
        for size in (25, 1, 1, 1, 3):
            page = rng.sample(jobs, size)
            got = queue_positions(session, page)
            assert got == {job.id: expected[job.id] for job in page if job.id in expected}


def test_attention_fires_failures_month_fires_and_a_capped_count_stay_in_the_org(
    engine: Engine,
) -> None:
    org_id, user_id = org_and_user(engine)
    other_org, other_user = org_and_user(engine, "org-b")
    mine = add_definition(engine, org_id, user_id, name="mine")
    theirs = add_definition(engine, other_org, other_user, name="theirs")
    outcomes = ["started", "skipped", "missed", "failed", "queued"]
    with session_scope(engine) as session:
        for index, outcome in enumerate(outcomes * 2):
            for definition_id in (mine, theirs):
                session.add(
                    ScheduleFire(
                        definition_id=definition_id,
                        scheduled_time=NOW - timedelta(hours=index * 6),
                        fired_at=NOW,
                        outcome=outcome,
                        reason=f"reason {index}",
                    )
                )
    for index, status in enumerate(["FAILED", "ABORTED", "COMPLETED", "FAILED"]):
        finished = NOW - timedelta(hours=index * 10)
        add_job(engine, org_id, user_id, status=status, queued=False, finished=finished)
        add_job(engine, other_org, other_user, status=status, queued=False, finished=finished)
    caller = Caller(org_id, user_id, "admin")
    since = NOW - timedelta(hours=24)
    with session_scope(engine) as session:
        attention = overview.fires_needing_attention(session, caller, since)
        assert [(f.outcome, f.definition.name) for f in attention] == [
            ("skipped", "mine"),
            ("missed", "mine"),
            ("failed", "mine"),
        ]
        assert [f.reason for f in attention] == ["reason 1", "reason 2", "reason 3"]
        failed = overview.failed_jobs_since(session, caller, since)
        assert [job.status for job in failed] == ["FAILED", "ABORTED"]
        assert all(job.org_id == org_id for job in failed)
        definition = session.get(JobDefinition, mine)
        assert definition is not None
        month = overview.fire_outcomes_between(
            session, definition, NOW - timedelta(days=2), NOW + timedelta(seconds=1), limit=4
        )
        assert [outcome for _, outcome in month] == ["failed", "missed", "skipped", "started"]
        filters = jobs.JobFilters()
        page, total = jobs.list_jobs(session, caller, filters, offset=0, limit=2, count_limit=3)
        assert (len(page), total) == (2, 3)
        _, exact = jobs.list_jobs(session, caller, filters, offset=0, limit=2)
        assert exact == 4


def test_a_position_runs_only_the_count_it_needs_on_postgresql(engine: Engine) -> None:
    """The jobs ahead are the tally less those behind, or counted from the front: PostgreSQL
    runs the other subquery of ``queue_positions``' statement never (``COALESCE`` is lazy)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("EXPLAIN ANALYZE's 'never executed' is PostgreSQL's")
    org_id, user_id = org_and_user(engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(10):
        add_job(engine, org_id, user_id, created=start + timedelta(seconds=index), queued=True)
    statement = job_views._queue_statements(postgresql=True).ahead
    compiled = statement.compile(dialect=engine.dialect)
    with session_scope(engine, deferred=True) as session:
        waiting = sorted(session.query(Job).all(), key=lambda job: (job.created, job.id))

        def plan(job: Job, counted: int) -> str:
            values = {
                **compiled.params,
                "first_created": job.created,
                "first_id": job.id,
                "counted": counted,
            }
            rows = session.connection().exec_driver_sql(
                f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}", values
            )
            return "\n".join(str(row[0]) for row in rows)

        near_the_end = plan(waiting[-2], 500)  # one behind it: the tally less it
        ahead_counts = [
            node for node in near_the_end.split("->") if "ROW(status, created, id) < ROW(" in node
        ]
        assert ahead_counts, near_the_end
        assert all("never executed" in node for node in ahead_counts), near_the_end
        assert "queue_tallies (never executed)" not in near_the_end, near_the_end
        far_back = plan(waiting[1], 3)  # 9 from it on, over 3: counted from the front
        assert "queue_tallies (never executed)" in far_back, far_back
        assert queue_positions(session, [waiting[-2]]) == {waiting[-2].id: 8}
