"""Overlap and catch-up policies end to end, with real ``scorecast serve`` processes on SQLite
and on PostgreSQL at the same time (``policy_timeline``: the timeline each server goes through).

- Catch-up after a downtime of 150 hours on hourly definitions, one per ``catchUp`` setting
  (the default; four hours and two runs; a window of 0 that excludes everything; maxRuns 0):
  exactly the most recent fires within the window run, at most maxRuns, oldest first, each
  writing its own output; every other time is recorded ``missed`` with its reason, the oldest
  ones summed up in one row.
- A definition disabled during the downtime runs none of its times once enabled.
- Each overlap policy with runs that hang (a named pipe) on an every-minute schedule: the first
  two scheduled fires are skipped (``skip``), queued then skipped "queue full" (``queue``),
  started while the previous run is aborted with that reason (``cancelRunning``), started
  while the previous runs go on (``allow``).
- Signed, verifiable webhooks for every skipped fire and for the auto-disabling of an always
  failing definition.

The whole module waits for two or three real minute boundaries.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from policy_timeline import DOWNTIME, Timeline, run_timeline, wire_time

from services import POSTGRES, drop_postgres_database, is_listening, pg_execute, pg_url, require

pytestmark = [pytest.mark.e2e]

STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
HOUR = timedelta(hours=1)
DUE = round(DOWNTIME / HOUR)  #: hourly fire times that passed during the downtime
KEPT = 100  #: missed times recorded one row each (older ones: one summary row)


@pytest.fixture(scope="module")
def timelines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Timeline]]:
    """Each store's timeline, both servers running at once (PostgreSQL when it answers)."""
    stores: dict[str, tuple[Path, str, Path]] = {}
    home = tmp_path_factory.mktemp("sqlite")
    stores["sqlite"] = (home / "home", f"sqlite:///{home / 'scorecast.db'}", _files(home))
    database = None
    if is_listening(POSTGRES.host, POSTGRES.port):
        home = tmp_path_factory.mktemp("postgresql")
        database = f"scorecast_e2e_policies_{os.getpid()}"
        pg_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        pg_execute(f'CREATE DATABASE "{database}"')
        stores["postgresql"] = (home / "home", pg_url(database), _files(home))
    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            running = {name: pool.submit(run_timeline, *store) for name, store in stores.items()}
            yield {name: future.result() for name, future in running.items()}
    finally:
        if database is not None:
            drop_postgres_database(database)


def _files(home: Path) -> Path:
    files = home / "files"
    files.mkdir()
    return files


@pytest.fixture(params=STORES)
def timeline(request: pytest.FixtureRequest, timelines: dict[str, Timeline]) -> Timeline:
    if request.param not in timelines:
        require(POSTGRES)
    return timelines[request.param]


def _by_time(fires: list[dict[str, Any]]) -> dict[datetime, dict[str, Any]]:
    return {wire_time(fire["scheduledTime"]): fire for fire in fires}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _check_missed(
    timeline: Timeline, key: str, runs: list[datetime], beyond_max_runs: list[datetime]
) -> dict[datetime, dict[str, Any]]:
    """The fires of catch-up definition ``key``: ``runs`` ran, every other due time is missed
    (``beyond_max_runs`` for that reason, the rest outside the window), the oldest summed up."""
    assert timeline.first_hourly is not None
    due = [timeline.first_hourly - HOUR * back for back in range(DUE, 0, -1)]
    missed = [moment for moment in due if moment not in runs]
    summed, kept = missed[: len(missed) - KEPT], missed[len(missed) - KEPT :]
    fires = _by_time(timeline.catch_up_fires[key])
    assert sorted(fires) == sorted([*runs, *kept, summed[0]]), timeline.log
    for moment in kept:
        fire = fires[moment]
        assert fire["outcome"] == "missed" and fire["jobIds"] == [], fire
        assert fire["reason"].startswith(f"not fired at {_stamp(moment)}: no scheduler was running")
        rule = "it is now more than"
        if moment in beyond_max_runs:
            rule = "after a downtime" if runs else "catchUp.maxRuns is 0"
        assert rule in fire["reason"], fire
    summary = fires[summed[0]]
    assert summary["outcome"] == "missed", summary
    assert summary["reason"] == (
        f"{len(summed)} fires from {_stamp(summed[0])} to {_stamp(summed[-1])} passed while "
        "no scheduler was running, or none could reach its database"
    )
    return fires


def _check_runs(timeline: Timeline, key: str, fires: dict[datetime, dict[str, Any]]) -> list[Any]:
    """The jobs of the fires that ran: each completed at its scheduled time, its own output."""
    jobs = []
    for moment, fire in sorted(fires.items()):
        if fire["outcome"] == "missed":
            continue
        (job_id,) = fire["jobIds"]
        job = timeline.catch_up_jobs[job_id]
        assert job["status"] == "COMPLETED", job
        assert wire_time(job["scheduledTime"]) == moment
        assert (timeline.files / f"{key}-{moment:%Y%m%dT%H%M%SZ}.csv").exists()
        jobs.append(job)
    outputs = sorted(path.name for path in timeline.files.glob(f"{key}-*.csv"))
    assert len(outputs) == len(jobs), outputs
    return jobs


def test_default_catch_up_runs_the_latest_missed_fire(timeline: Timeline) -> None:
    assert timeline.first_hourly is not None
    latest = timeline.first_hourly - HOUR
    fires = _check_missed(timeline, "default", [latest], [])
    assert fires[latest]["outcome"] == "started"
    assert fires[latest]["latenessSeconds"] > 0
    _check_runs(timeline, "default", fires)


def test_catch_up_runs_at_most_max_runs_within_the_window_oldest_first(
    timeline: Timeline,
) -> None:
    assert timeline.first_hourly is not None
    older, newer = (timeline.first_hourly - HOUR * back for back in (2, 1))
    beyond = [timeline.first_hourly - HOUR * back for back in (4, 3)]
    fires = _check_missed(timeline, "four-hours-two-runs", [older, newer], beyond)
    # overlapPolicy queue: the newer run waits behind the older one
    assert (fires[older]["outcome"], fires[newer]["outcome"]) == ("started", "queued")
    first, second = _check_runs(timeline, "four-hours-two-runs", fires)
    assert wire_time(second["started"]) >= wire_time(first["finished"])


def test_a_window_of_zero_and_max_runs_zero_run_nothing(timeline: Timeline) -> None:
    assert timeline.first_hourly is not None
    _check_missed(timeline, "window-zero", [], [])
    # the fires of the last 24 hours were in the window, but maxRuns is 0
    day = [timeline.first_hourly - HOUR * back for back in range(1, 25)]
    _check_missed(timeline, "max-runs-zero", [], day)
    assert not list(timeline.files.glob("window-zero-*")) + list(
        timeline.files.glob("max-runs-zero-*")
    )


def test_fires_while_disabled_never_run_after_enabling(timeline: Timeline) -> None:
    assert timeline.dormant_enabled_at is not None
    next_time = wire_time(timeline.dormant_enabled["nextScheduledRunTime"])
    assert next_time > timeline.dormant_enabled_at
    assert timeline.dormant_fires, timeline.log
    for fire in timeline.dormant_fires:
        assert wire_time(fire["scheduledTime"]) >= next_time, fire
        assert fire["outcome"] in ("started", "skipped"), fire


def _first_two(timeline: Timeline, policy: str) -> tuple[dict[str, Any], dict[str, Any]]:
    fires = _by_time(timeline.overlap_fires[policy])
    first = timeline.first_fire[policy]
    return fires[first], fires[first + timedelta(minutes=1)]


def test_skip_records_fires_skipped_while_the_previous_run_hangs(timeline: Timeline) -> None:
    manual = timeline.manual_jobs["skip"]
    for fire in _first_two(timeline, "skip"):
        assert fire["outcome"] == "skipped" and fire["jobIds"] == [], fire
        assert fire["reason"] == f"the previous run (job {manual}) was still RUNNING"
    assert timeline.overlap_jobs["skip"][manual]["status"] == "RUNNING"


def test_queue_keeps_one_run_waiting_and_skips_the_next_queue_full(timeline: Timeline) -> None:
    queued, full = _first_two(timeline, "queue")
    assert queued["outcome"] == "queued", queued
    waiting = timeline.overlap_jobs["queue"][queued["jobId"]]
    assert waiting["status"] == "INITIALIZING", waiting
    assert "queued behind the definition's active run" in waiting["statusDetails"]
    assert full["outcome"] == "skipped" and full["jobIds"] == [], full
    assert full["reason"].startswith("queue full: the previous run"), full
    assert timeline.overlap_jobs["queue"][timeline.manual_jobs["queue"]]["status"] == "RUNNING"


def test_cancel_running_aborts_the_running_job_and_starts_the_new_one(
    timeline: Timeline,
) -> None:
    first, second = _first_two(timeline, "cancelRunning")
    replaced = [timeline.manual_jobs["cancelRunning"], first["jobId"]]
    for fire, previous in zip((first, second), replaced, strict=True):
        assert fire["outcome"] == "started", fire
        assert fire["reason"] == (
            f"overlap policy cancelRunning: aborted the previous run (job {previous})"
        )
    # every run but the newest was replaced (a third fire may have come before the end)
    newest = timeline.overlap_fires["cancelRunning"][0]["jobId"]
    for job_id, job in timeline.overlap_jobs["cancelRunning"].items():
        if job_id == newest:
            assert job["status"] == "RUNNING", job
            continue
        assert job["status"] == "ABORTED", job
        assert job["statusDetails"].endswith(
            "replaced by a newer fire (overlap policy cancelRunning)"
        ), job
    assert {*replaced, second["jobId"]} <= set(timeline.overlap_jobs["cancelRunning"])


def test_allow_starts_every_fire_while_the_previous_runs_go_on(timeline: Timeline) -> None:
    fires = _first_two(timeline, "allow")
    assert [fire["outcome"] for fire in fires] == ["started", "started"]
    assert all(fire["reason"] is None for fire in fires), fires
    running = [timeline.manual_jobs["allow"], *(fire["jobId"] for fire in fires)]
    assert set(running) <= set(timeline.overlap_jobs["allow"])
    assert all(job["status"] == "RUNNING" for job in timeline.overlap_jobs["allow"].values())


def test_signed_webhooks_for_skipped_fires_and_auto_disable(timeline: Timeline) -> None:
    assert timeline.failing["enabled"] is False
    assert "1 consecutive failed runs" in timeline.failing["disabledReason"]
    assert all(request.signature_ok for request in timeline.deliveries), timeline.deliveries
    payloads = [request.payload for request in timeline.deliveries]
    (disabled,) = [p for p in payloads if p["event"].endswith("auto_disabled")]
    assert disabled["definition"]["id"] == timeline.failing["id"]
    assert disabled["reason"] == timeline.failing["disabledReason"]
    skipped = {
        (definition_id, fire["scheduledTime"], fire["reason"])
        for policy, definition_id in timeline.overlap_ids.items()
        for fire in timeline.overlap_fires[policy]
        if fire["outcome"] == "skipped"
    }
    delivered = {
        (p["definition"]["id"], p["scheduledTime"], p["reason"])
        for p in payloads
        if p["event"] == "batch_predictions.scheduler.skipped"
    }
    assert delivered >= skipped and len(skipped) >= 3, (delivered, skipped)
