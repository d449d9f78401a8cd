"""The scheduler's policies through the service on SQLite and PostgreSQL, with explicit times:
each overlap policy with a slow run of an every-minute definition, catch-up after a downtime,
jitter, and a busy scheduler that records every late fire as late, none as missed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from rows import EVERY_MINUTE, add_definition, add_deployment, org_and_user
from sqlalchemy import Engine, inspect, select

from scorecast.domain.definition_policies import OverlapPolicy
from scorecast.domain.run_policies import REPLACED, TIMED_OUT
from scorecast.domain.schedule.firing_plan import jitter_offset
from scorecast.domain.schedule.liveness import AliveSpan
from scorecast.runtime.scheduler import Scheduler
from scorecast.service.claims import claim_next_job
from scorecast.service.firing import fire_due_definitions
from scorecast.service.scheduler_liveness import beat
from scorecast.store.db import session_scope
from scorecast.store.models import (
    Job,
    JobDefinition,
    NotificationChannel,
    NotificationDelivery,
    NotificationPolicy,
    ScheduleFire,
)
from scorecast.store.types import new_id

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EVERY_TEN = {**EVERY_MINUTE, "minute": [0, 10, 20, 30, 40, 50]}


def filesystem_spec(deployment_id: str) -> dict[str, Any]:
    """A stored spec whose jobs are claimable at once (the scheduler trusts stored specs)."""
    return {
        "deploymentId": deployment_id,
        "intakeSettings": {"type": "filesystem", "url": "file:///in.csv"},
        "outputSettings": {"type": "filesystem", "url": "file:///out.csv"},
    }


def definition(
    engine: Engine,
    schedule: dict[str, Any] = EVERY_MINUTE,
    first: datetime = T0,
    org_name: str = "org-a",
    **policies: Any,
) -> str:
    org, user = org_and_user(engine, org_name)
    deployment = add_deployment(engine, org, user)
    return add_definition(
        engine,
        org,
        user,
        enabled=True,
        schedule=schedule,
        job_spec=filesystem_spec(deployment),
        next_scheduled_run_time=first,
        policies=policies or None,
    )


def fire_alive(engine: Engine, now: datetime) -> list[Any]:
    """One batch by a scheduler that has been running since before ``T0``."""
    with session_scope(engine, immediate=True) as session:
        own = AliveSpan(T0 - timedelta(minutes=5), now)
        return fire_due_definitions(session, now, own_span=own)


def fires(engine: Engine, definition_id: str) -> list[tuple[int, str, str | None]]:
    """(minute, outcome, reason) of every fire row, in time order."""
    with session_scope(engine) as session:
        rows = session.scalars(
            select(ScheduleFire)
            .where(ScheduleFire.definition_id == definition_id)
            .order_by(ScheduleFire.scheduled_time)
        ).all()
        return [(f.scheduled_time.minute, f.outcome, f.reason) for f in rows]


def jobs(engine: Engine, definition_id: str) -> dict[int, Job]:
    """The definition's jobs by their scheduled minute."""
    with session_scope(engine) as session:
        rows = session.scalars(select(Job).where(Job.definition_id == definition_id)).all()
        session.expunge_all()
        return {job.scheduled_time.minute: job for job in rows if job.scheduled_time is not None}


def claim(engine: Engine, now: datetime) -> str | None:
    with session_scope(engine, immediate=True) as session:
        claimed = claim_next_job(session, "worker-1", now, lease_seconds=3600)
        return None if claimed is None else claimed.job_id


def finish(engine: Engine, job_id: str) -> None:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status = "COMPLETED"


def slow_run(engine: Engine, policy: OverlapPolicy) -> tuple[str, str]:
    """An every-minute definition whose 12:00 run is claimed and still running at 12:03:01
    after the scheduler fired 12:01, 12:02 and 12:03; (definition id, the slow job's id)."""
    definition_id = definition(engine, overlapPolicy=policy.value)
    [first] = fire_alive(engine, T0 + timedelta(seconds=1))
    assert first.outcome == "started"
    assert claim(engine, T0 + timedelta(seconds=2)) == first.job_id
    for minute in (1, 2, 3):
        fire_alive(engine, T0 + timedelta(minutes=minute, seconds=1))
    return definition_id, first.job_id


def test_overlap_skip_records_each_fire_during_the_slow_run_skipped(engine: Engine) -> None:
    definition_id, slow = slow_run(engine, OverlapPolicy.SKIP)
    recorded = fires(engine, definition_id)
    assert [(m, o) for m, o, _ in recorded] == [
        (0, "started"),
        (1, "skipped"),
        (2, "skipped"),
        (3, "skipped"),
    ]
    assert all(f"job {slow}" in (r or "") and "RUNNING" in (r or "") for _, _, r in recorded[1:])
    assert list(jobs(engine, definition_id)) == [0]


def test_overlap_queue_keeps_one_run_waiting_behind_the_slow_one(engine: Engine) -> None:
    definition_id, slow = slow_run(engine, OverlapPolicy.QUEUE)
    recorded = fires(engine, definition_id)
    assert [(m, o) for m, o, _ in recorded] == [
        (0, "started"),
        (1, "queued"),
        (2, "skipped"),
        (3, "skipped"),
    ]
    assert all((r or "").startswith("queue full") for _, _, r in recorded[2:])
    queued = jobs(engine, definition_id)[1]
    assert queued.after_previous and queued.status == "INITIALIZING"
    assert claim(engine, T0 + timedelta(minutes=3, seconds=2)) is None  # it waits its turn
    finish(engine, slow)
    assert claim(engine, T0 + timedelta(minutes=3, seconds=3)) == queued.id


def test_a_queued_run_does_not_wait_for_a_backfills_jobs(engine: Engine) -> None:
    """A backfill's jobs are bounded by its own maxConcurrent: they never hold back a live run
    queued behind the definition's previous live run."""
    definition_id, slow = slow_run(engine, OverlapPolicy.QUEUE)
    queued = jobs(engine, definition_id)[1]
    with session_scope(engine) as session:
        row = session.get(Job, slow)
        assert row is not None
        generated = {"intake_type", "output_type"}
        columns = {
            attr.key: getattr(row, attr.key)
            for attr in inspect(Job).column_attrs
            if attr.key not in generated
        }
        for status in ("RUNNING", "INITIALIZING"):
            # the waiting one is not claimable itself yet
            later = T0 + timedelta(days=1)
            fields = {"id": new_id(), "source": "backfill", "status": status, "not_before": later}
            session.add(Job(**{**columns, **fields}))
    finish(engine, slow)
    assert claim(engine, T0 + timedelta(minutes=3, seconds=3)) == queued.id


def test_overlap_cancel_running_aborts_the_slow_run_and_starts_the_new_one(
    engine: Engine,
) -> None:
    definition_id, slow = slow_run(engine, OverlapPolicy.CANCEL_RUNNING)
    recorded = fires(engine, definition_id)
    assert [o for _, o, _ in recorded] == ["started"] * 4
    assert f"job {slow}" in (recorded[1][2] or "")
    by_minute = jobs(engine, definition_id)
    assert by_minute[0].abort_requested and by_minute[0].status == "RUNNING"  # its worker stops it
    assert [by_minute[m].status for m in (1, 2)] == ["ABORTED", "ABORTED"]  # waiting: at once
    assert by_minute[3].status == "INITIALIZING" and not by_minute[3].abort_requested
    # the reason reaches the job's end (its statusDetails; replaced runs count as cancelled)
    assert {by_minute[m].abort_reason for m in (0, 1, 2)} == {REPLACED}
    with session_scope(engine, immediate=True) as session:
        claimed = claim_next_job(session, "worker-1", T0 + timedelta(minutes=4), 3600)
        assert claimed is not None and claimed.job_id == by_minute[3].id
        running = session.get(Job, by_minute[0].id)
        assert running is not None
        running.lease_expires = T0  # its worker is gone: the next claim settles the abort
    with session_scope(engine, immediate=True) as session:
        claim_next_job(session, "worker-2", T0 + timedelta(minutes=4, seconds=1), 3600)
    ended = jobs(engine, definition_id)[0]
    assert ended.status == "ABORTED" and ended.status_details.endswith(REPLACED)


def test_cancel_running_raises_the_failed_event_of_a_waiting_run_it_aborts(
    engine: Engine,
) -> None:
    definition_id, _ = slow_run(engine, OverlapPolicy.CANCEL_RUNNING)
    subscribe_to_failed_runs(engine, definition_id)
    waiting = jobs(engine, definition_id)[3]
    assert waiting.status == "INITIALIZING"
    fire_alive(engine, T0 + timedelta(minutes=4, seconds=1))  # replaces the waiting 12:03 run
    assert failed_events(engine) == [(waiting.id, "ABORTED")]


def test_cancel_running_raises_the_failed_event_of_a_caught_up_run_it_replaces(
    engine: Engine,
) -> None:
    definition_id = definition(
        engine,
        EVERY_TEN,
        T0 - timedelta(minutes=10),
        catchUp={"windowSeconds": 3600, "maxRuns": 2},
        overlapPolicy="cancelRunning",
    )
    subscribe_to_failed_runs(engine, definition_id)
    with session_scope(engine, immediate=True) as session:
        fire_due_definitions(session, T0 + timedelta(seconds=20))  # 11:50 replaced by 12:00
    replaced = jobs(engine, definition_id)[50]
    assert replaced.status == "ABORTED" and replaced.abort_reason == REPLACED
    assert failed_events(engine) == [(replaced.id, "ABORTED")]


def subscribe_to_failed_runs(engine: Engine, definition_id: str) -> None:
    """A webhook channel and a policy for ``batch_predictions.failed`` in the definition's org."""
    with session_scope(engine) as session:
        row = session.get(JobDefinition, definition_id)
        assert row is not None
        channel = NotificationChannel(
            org_id=row.org_id,
            name="hook",
            channel_type="Webhook",
            payload_url="https://hooks.example/scorecast",
            created_by=row.created_by,
        )
        session.add(channel)
        session.flush()
        session.add(
            NotificationPolicy(
                org_id=row.org_id,
                name="failed runs",
                channel_id=channel.id,
                event_type="batch_predictions.failed",
                created_by=row.created_by,
            )
        )


def failed_events(engine: Engine) -> list[tuple[str | None, str]]:
    """(job id, job status) of every planned ``batch_predictions.failed`` delivery."""
    with session_scope(engine) as session:
        planned = session.scalars(select(NotificationDelivery)).all()
        assert all(d.event_type == "batch_predictions.failed" for d in planned)
        return [(d.job_id, d.payload["job"]["status"]) for d in planned]


def test_cancel_running_does_not_replace_the_reason_of_a_run_already_aborting(
    engine: Engine,
) -> None:
    definition_id, slow = slow_run(engine, OverlapPolicy.SKIP)
    with session_scope(engine) as session:
        row = session.get(JobDefinition, definition_id)
        assert row is not None
        row.policies = {"overlapPolicy": "cancelRunning"}
        job = session.get(Job, slow)
        assert job is not None
        job.abort_requested, job.abort_reason = True, TIMED_OUT
    fire_alive(engine, T0 + timedelta(minutes=4, seconds=1))
    assert jobs(engine, definition_id)[0].abort_reason == TIMED_OUT


def test_overlap_allow_starts_every_fire(engine: Engine) -> None:
    definition_id, _ = slow_run(engine, OverlapPolicy.ALLOW)
    assert [o for _, o, _ in fires(engine, definition_id)] == ["started"] * 4
    assert sorted(jobs(engine, definition_id)) == [0, 1, 2, 3]
    assert claim(engine, T0 + timedelta(minutes=3, seconds=2)) is not None


def test_catch_up_runs_the_latest_fires_in_the_window_after_a_downtime(engine: Engine) -> None:
    """Down from 11:20 to 12:00:20 (no scheduler heartbeat): of 11:20 … 12:00 the latest three
    within the 40-minute window run, oldest first; the rest are missed with the reason."""
    definition_id = definition(
        engine,
        EVERY_TEN,
        T0 - timedelta(minutes=40),
        catchUp={"windowSeconds": 2400, "maxRuns": 3},
        overlapPolicy="allow",
    )
    with session_scope(engine, immediate=True) as session:
        fire_due_definitions(session, T0 + timedelta(seconds=20))
    recorded = fires(engine, definition_id)
    assert [(m, o) for m, o, _ in recorded] == [
        (20, "missed"),
        (30, "missed"),
        (40, "started"),
        (50, "started"),
        (0, "started"),
    ]
    assert "more than 40 minutes late" in (recorded[0][2] or "")
    assert "at most the latest 3 fire times run" in (recorded[1][2] or "")
    assert "no scheduler was running" in (recorded[1][2] or "")
    # oldest first: workers claim the caught-up runs in the order of their times
    claimed = [claim(engine, T0 + timedelta(seconds=30)) for _ in range(3)]
    by_minute = jobs(engine, definition_id)
    assert claimed == [by_minute[minute].id for minute in (40, 50, 0)]


def test_catch_up_with_max_runs_zero_runs_nothing_missed(engine: Engine) -> None:
    definition_id = definition(
        engine, EVERY_TEN, T0 - timedelta(minutes=20), catchUp={"windowSeconds": 3600, "maxRuns": 0}
    )
    with session_scope(engine, immediate=True) as session:
        fire_due_definitions(session, T0 + timedelta(seconds=20))
    recorded = fires(engine, definition_id)
    assert [o for _, o, _ in recorded] == ["missed"] * 3
    reasons = [reason or "" for *_, reason in recorded]
    assert all(r.endswith("catchUp.maxRuns is 0: no missed time runs") for r in reasons)
    assert jobs(engine, definition_id) == {}


def test_jitter_delays_the_fire_by_the_definition_offset_and_keeps_the_nominal_time(
    engine: Engine,
) -> None:
    definition_id = definition(engine, jitterSeconds=600)
    offset = jitter_offset(definition_id, 600)
    with session_scope(engine) as session:
        row = session.get(JobDefinition, definition_id)
        assert row is not None
        row.next_due_at = T0 + offset  # as the definitions service stores it
    if offset > timedelta(0):
        assert fire_alive(engine, T0 + offset - timedelta(microseconds=1)) == []
    [fired] = fire_alive(engine, T0 + offset)
    assert (fired.outcome, fired.scheduled_time, fired.lateness_seconds) == ("started", T0, 0.0)
    with session_scope(engine) as session:
        row = session.get(JobDefinition, definition_id)
        assert row is not None
        assert row.next_scheduled_run_time == T0 + timedelta(minutes=1)
        assert row.next_due_at == T0 + timedelta(minutes=1) + offset


def test_a_busy_scheduler_runs_every_fire_late_and_records_none_missed(engine: Engine) -> None:
    """Each batch of 10 takes (by the scheduler's clock) 25 minutes: the last of 35 daily-noon
    definitions starts more than an hour late, beyond the catch-up window, and still runs,
    with its lateness on record; the old scheduler recorded such fires missed."""
    noon_daily = {**EVERY_MINUTE, "minute": [0], "hour": [12]}
    ids = [definition(engine, noon_daily, T0, f"org-{i}") for i in range(35)]
    moments = _clock(T0 - timedelta(seconds=30), step=timedelta(minutes=25))
    scheduler = Scheduler(engine, clock=lambda: next(moments), batch_size=10)
    heard = scheduler.tick()
    assert sorted(f.definition_id for f in heard) == sorted(ids)
    assert {f.outcome for f in heard} == {"started"}
    lateness = [f.lateness_seconds or 0.0 for f in heard]
    assert max(lateness) > 3600 and min(lateness) >= 0
    with session_scope(engine) as session:
        outcomes = session.scalars(select(ScheduleFire.outcome)).all()
        assert sorted(outcomes) == ["started"] * 35
        assert session.scalar(
            select(ScheduleFire.lateness_seconds)
            .order_by(ScheduleFire.lateness_seconds.desc())
            .limit(1)
        ) == max(lateness)


def test_a_restarted_scheduler_tells_a_downtime_from_a_busy_peer(engine: Engine) -> None:
    """Two hours late with no scheduler alive at the time: missed. Two hours late while a
    peer was alive (busy) from before the time until now: a scheduler that just started runs
    it, late."""
    noon_daily = {**EVERY_MINUTE, "minute": [0], "hour": [12]}
    definition_id = definition(engine, noon_daily, T0)
    [missed] = Scheduler(engine, clock=lambda: T0 + timedelta(hours=2)).tick()
    assert missed.outcome == "missed"
    next_day = T0 + timedelta(days=1)
    with session_scope(engine) as session:
        beat(session, "busy-peer", next_day - timedelta(minutes=1), next_day + timedelta(hours=2))
    [fired] = Scheduler(engine, clock=lambda: next_day + timedelta(hours=2)).tick()
    assert (fired.definition_id, fired.outcome) == (definition_id, "started")
    assert fired.lateness_seconds == 7200


def _clock(start: datetime, step: timedelta) -> Iterator[datetime]:
    moment = start
    while True:
        yield moment
        moment += step
