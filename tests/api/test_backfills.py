"""``batchPredictionJobDefinitions/{id}/backfills/`` over HTTP on both stores: one job per fire
time in the range with its scheduled time, at most ``maxConcurrent`` at once, existing fires
left alone unless ``rerun``, progress, cancel, field errors, other organizations' 404s.

Jobs are ended by writing their status (no worker runs here); the end-to-end test runs them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    api_b_fixture,
    assert_json_error,
    deployment_a_fixture,
)
from backfill_rows import (  # noqa: F401 (pump_fixture is the pump fixture)
    DAILY_0300,
    backfill_definition,
    end_waiting_jobs,
    pump_fixture,
)
from sqlalchemy import select

from live_api import file_root_settings_fixture  # noqa: F401 (the settings fixture)
from scorecast.runtime.backfill_pump import BackfillPump
from scorecast.store.db import session_scope
from scorecast.store.models import Job, ScheduleFire

#: one output file a day (the range's fire times are a day apart)
DAY_FILES = "out-{scheduled_time:%Y-%m-%d}.csv"
START = datetime(2026, 1, 1, tzinfo=UTC)
TEN_DAYS = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-11T00:00:00Z"}
EXPECTED = [START + timedelta(days=d, hours=3) for d in range(10)]


def _jobs(live_server: Any, definition_id: str) -> list[Job]:
    with session_scope(live_server.engine) as session:
        return list(
            session.scalars(
                select(Job).where(Job.definition_id == definition_id).order_by(Job.scheduled_time)
            ).all()
        )


def test_a_backfill_runs_each_fire_time_once_at_most_max_concurrent_at_once(
    api_a: Api, deployment_a: str, live_server: Any, pump: BackfillPump
) -> None:
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root, output=DAY_FILES)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    answer = api_a.post(path, json={**TEN_DAYS, "maxConcurrent": 3})
    assert answer.status_code == 202, answer.text
    backfill = answer.json()
    assert answer.headers["Location"].endswith(f"{path}{backfill['id']}/")
    assert backfill["status"] == "running" and backfill["maxConcurrent"] == 3
    assert backfill["start"] == "2026-01-01T00:00:00.000000Z"
    assert backfill["progress"]["total"] == 10
    assert backfill["progress"]["waiting"] == 3 and backfill["progress"]["planned"] == 7

    seen: list[datetime] = []
    while True:
        jobs = _jobs(live_server, definition_id)
        waiting = [job for job in jobs if job.status == "INITIALIZING"]
        assert len(waiting) <= 3
        seen = [job.scheduled_time for job in jobs if job.scheduled_time is not None]
        if not waiting:
            break
        end_waiting_jobs(live_server, definition_id)
        pump.round()
    assert seen == EXPECTED  # one job per fire time, in time order, none twice
    assert {job.source for job in _jobs(live_server, definition_id)} == {"backfill"}

    done = api_a.get(f"{path}{backfill['id']}/").json()
    assert done["status"] == "completed" and done["finished"] is not None
    assert done["progress"]["done"] == 10 and done["progress"]["planned"] == 0

    fires = api_a.get(f"batchPredictionJobDefinitions/{definition_id}/fires/").json()
    assert fires["count"] == 10
    assert {fire["outcome"] for fire in fires["data"]} == {"backfill"}
    job = api_a.get(f"batchPredictions/{fires['data'][0]['jobId']}/").json()
    assert job["scheduledTime"] == "2026-01-10T03:00:00.000000Z"
    assert job["source"] == "backfill"

    listed = api_a.get(path).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == backfill["id"]


def test_times_with_a_fire_are_left_alone_unless_rerun(
    api_a: Api, deployment_a: str, live_server: Any, pump: BackfillPump
) -> None:
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root, output=DAY_FILES)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    first = api_a.post(path, json={**TEN_DAYS, "maxConcurrent": 10}).json()
    assert first["progress"]["waiting"] == 10
    end_waiting_jobs(live_server, definition_id, status="FAILED")
    pump.round()
    assert api_a.get(f"{path}{first['id']}/").json()["progress"]["failed"] == 10

    again = api_a.post(path, json=TEN_DAYS).json()
    assert again["progress"]["skipped"] == 10 and again["status"] == "completed"
    assert len(_jobs(live_server, definition_id)) == 10

    rerun = api_a.post(path, json={**TEN_DAYS, "maxConcurrent": 10, "rerun": True}).json()
    assert rerun["progress"]["waiting"] == 10
    jobs = _jobs(live_server, definition_id)
    assert len(jobs) == 20
    with session_scope(live_server.engine) as session:
        fires = session.scalars(
            select(ScheduleFire).where(ScheduleFire.definition_id == definition_id)
        ).all()
    newest = {job.id for job in jobs if job.status == "INITIALIZING"}
    assert {fire.job_id for fire in fires} == newest  # each fire names its latest run
    assert all("rerun by backfill" in (fire.reason or "") for fire in fires)

    # a rerun of times whose runs still wait leaves them alone: never two waiting runs
    second = api_a.post(path, json={**TEN_DAYS, "rerun": True}).json()
    assert second["progress"]["skipped"] == 10
    assert len(_jobs(live_server, definition_id)) == 20


def test_cancel_aborts_waiting_jobs_and_the_planned_times(
    api_a: Api, deployment_a: str, live_server: Any, pump: BackfillPump
) -> None:
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root, output=DAY_FILES)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    backfill = api_a.post(path, json={**TEN_DAYS, "maxConcurrent": 2}).json()
    with session_scope(live_server.engine) as session:  # one of the two is running
        first = session.scalars(select(Job).where(Job.definition_id == definition_id)).first()
        assert first is not None
        first.status = "RUNNING"
    cancelled = api_a.delete(f"{path}{backfill['id']}/")
    assert cancelled.status_code == 202, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    progress = body["progress"]
    assert (progress["cancelled"], progress["aborted"], progress["running"]) == (8, 1, 1)
    assert progress["planned"] == progress["waiting"] == 0
    pump.round()
    assert len(_jobs(live_server, definition_id)) == 2  # nothing released after a cancel
    assert api_a.delete(f"{path}{backfill['id']}/").json()["status"] == "cancelled"

    done = api_a.post(
        path, json={"start": "2026-02-01T00:00:00Z", "end": "2026-02-02T00:00:00Z"}
    ).json()
    end_waiting_jobs(live_server, definition_id)
    pump.round()
    assert api_a.get(f"{path}{done['id']}/").json()["status"] == "completed"
    assert_json_error(api_a.delete(f"{path}{done['id']}/"), 409)


def test_bad_requests_name_the_field(api_a: Api, deployment_a: str, live_server: Any) -> None:
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root, output=DAY_FILES)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    every_minute = {**DAILY_0300, "minute": ["*"], "hour": ["*"]}
    minutely = backfill_definition(api_a, deployment_a, root, every_minute, output=DAY_FILES)
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    for body, field in [
        ({"end": TEN_DAYS["end"]}, "start"),
        ({"start": TEN_DAYS["start"]}, "end"),
        ({**TEN_DAYS, "start": "last tuesday"}, "start"),
        ({**TEN_DAYS, "end": 20260111}, "end"),
        ({"start": TEN_DAYS["end"], "end": TEN_DAYS["start"]}, "end"),
        ({"start": TEN_DAYS["start"], "end": TEN_DAYS["start"]}, "end"),
        ({**TEN_DAYS, "end": future}, "end"),
        ({**TEN_DAYS, "maxConcurrent": 0}, "maxConcurrent"),
        ({**TEN_DAYS, "maxConcurrent": "2"}, "maxConcurrent"),
        ({**TEN_DAYS, "rerun": "yes"}, "rerun"),
        ({**TEN_DAYS, "colour": "red"}, "colour"),
        ({"start": "2026-01-01T04:00:00Z", "end": "2026-01-02T02:00:00Z"}, "end"),
    ]:
        body_answer = assert_json_error(api_a.post(path, json=body), 422)
        assert field in body_answer["errors"], (body, body_answer)
    too_many = {"start": "2025-01-01T00:00:00Z", "end": "2025-04-01T00:00:00Z"}
    answer = assert_json_error(
        api_a.post(f"batchPredictionJobDefinitions/{minutely}/backfills/", json=too_many), 422
    )
    assert "100000" in answer["errors"]["end"]
    unscheduled = backfill_definition(api_a, deployment_a, root, None, output=DAY_FILES)
    answer = assert_json_error(
        api_a.post(f"batchPredictionJobDefinitions/{unscheduled}/backfills/", json=TEN_DAYS),
        422,
    )
    assert "schedule" in answer["errors"]
    assert api_a.get(path).json()["count"] == 0


def test_other_organizations_see_no_backfills(
    api_a: Api, api_b: Api, deployment_a: str, live_server: Any
) -> None:
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root, output=DAY_FILES)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    backfill = api_a.post(path, json=TEN_DAYS).json()
    assert_json_error(api_b.post(path, json=TEN_DAYS), 404)
    assert_json_error(api_b.get(path), 404)
    assert_json_error(api_b.get(f"{path}{backfill['id']}/"), 404)
    assert_json_error(api_b.delete(f"{path}{backfill['id']}/"), 404)
    assert_json_error(api_a.get(f"{path}{'0' * 24}/"), 404)
    assert api_a.get(f"{path}{backfill['id']}/").json()["status"] == "running"
    assert api_a.get(path, headers={"Authorization": ""}).status_code == 401
