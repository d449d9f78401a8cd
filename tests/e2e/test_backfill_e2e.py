"""A backfill on a real ``scorecast serve`` (SQLite and PostgreSQL): a nightly definition that
reads ``in/{scheduled_time:%Y-%m-%d}.csv`` and writes ``out/{scheduled_time:%Y-%m-%d}.csv`` is
back-run over a range in one call and writes one output per day, at most ``maxConcurrent``
at once, and carries on after a restart; a cancelled backfill runs no more of its times."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving import ServeProcess, register_demo_model

from scorecast.demo import DATA

pytestmark = pytest.mark.e2e

NIGHTLY_PARIS = {
    "minute": [30],
    "hour": [2],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
    "timezone": "Europe/Paris",
}
DAYS = [date(2026, 3, 26) + timedelta(days=d) for d in range(6)]  # over the DST change


def _wait(http: httpx.Client, path: str, done: Any, timeout: float = 240.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = http.get(path).json()
        if done(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def _definition(http: httpx.Client, deployment: str, root: Path, name: str) -> str:
    answer = http.post(
        "batchPredictionJobDefinitions/",
        json={
            "name": name,
            "enabled": False,
            "schedule": NIGHTLY_PARIS,
            "deploymentId": deployment,
            "intakeSettings": {
                "type": "filesystem",
                "url": root.as_uri() + "/in/{scheduled_time:%Y-%m-%d}.csv",
            },
            "outputSettings": {
                "type": "filesystem",
                "url": root.as_uri() + "/out/{scheduled_time:%Y-%m-%d}.csv",
            },
            "passthroughColumns": ["patient_id"],
        },
    )
    assert answer.status_code == 202, answer.text
    definition_id: str = answer.json()["id"]
    return definition_id


def test_a_backfill_writes_one_output_per_day_and_survives_a_restart(
    fresh_store: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = fresh_store
    root = tmp_path / "files"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    for day in DAYS:
        (root / "in" / f"{day}.csv").write_bytes(DATA.read_bytes())
    env = {"SCORECAST_FILE_ROOTS": str(root)}
    first = ServeProcess(home, url, "--workers", "2", env=env).start()
    token = first.token
    try:
        deployment = register_demo_model(first)
        with first.http() as http:
            definition_id = _definition(http, deployment, root, "nightly")
            path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
            answer = http.post(
                path,
                json={
                    "start": "2026-03-26T00:00:00Z",
                    "end": "2026-04-01T00:00:00Z",
                    "maxConcurrent": 2,
                },
            )
            assert answer.status_code == 202, answer.text
            backfill = answer.json()
            assert backfill["progress"]["total"] == len(DAYS)
            _wait(http, f"{path}{backfill['id']}/", lambda b: b["progress"]["done"] >= 1)
    finally:
        assert first.stop() == 0
    second = ServeProcess(home, url, "--workers", "2", env=env)
    second.token = token
    second.start()
    try:
        with second.http(token) as http:
            done = _wait(http, f"{path}{backfill['id']}/", lambda b: b["status"] != "running")
            assert done["status"] == "completed", done
            assert done["progress"]["done"] == len(DAYS), done
            jobs = http.get(
                "batchPredictions/", params={"jobDefinitionId": definition_id, "limit": 100}
            ).json()["data"]
            times = sorted(job["scheduledTime"] for job in jobs)
            # 02:30 in Paris: 01:30 UTC in winter time, 00:30 UTC in summer time; on 29 March
            # 02:30 does not exist (the clocks jump from 02:00 to 03:00): it runs at the jump
            assert times == [
                "2026-03-26T01:30:00.000000Z",
                "2026-03-27T01:30:00.000000Z",
                "2026-03-28T01:30:00.000000Z",
                "2026-03-29T01:00:00.000000Z",
                "2026-03-30T00:30:00.000000Z",
                "2026-03-31T00:30:00.000000Z",
            ], times
            assert {job["source"] for job in jobs} == {"backfill"}
        written = sorted(p.name for p in (root / "out").iterdir())
        assert written == [f"{day}.csv" for day in DAYS]
        for day in DAYS:
            lines = (root / "out" / f"{day}.csv").read_text().splitlines()
            assert len(lines) == 501 and "patient_id" in lines[0]
    finally:
        second.stop()


def test_a_cancelled_backfill_runs_no_more_of_its_times(
    fresh_store: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = fresh_store
    root = tmp_path / "files"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    for day in DAYS:
        (root / "in" / f"{day}.csv").write_bytes(DATA.read_bytes())
    server = ServeProcess(home, url, "--workers", "1", env={"SCORECAST_FILE_ROOTS": str(root)})
    server.start()
    try:
        deployment = register_demo_model(server)
        with server.http() as http:
            definition_id = _definition(http, deployment, root, "nightly")
            path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
            backfill = http.post(
                path, json={"start": "2026-03-26T00:00:00Z", "end": "2026-04-01T00:00:00Z"}
            ).json()
            cancelled = http.delete(f"{path}{backfill['id']}/")
            assert cancelled.status_code == 202, cancelled.text
            progress = cancelled.json()["progress"]
            # the create released the first time; if its job ended before the cancel arrived,
            # the pump (every second) may have released the next one too: count, not assume
            released = len(DAYS) - progress["cancelled"]
            assert 1 <= released < len(DAYS) and progress["planned"] == 0, progress
            settled = _wait(
                http,
                f"{path}{backfill['id']}/",
                lambda b: b["progress"]["waiting"] + b["progress"]["running"] == 0,
            )
            assert settled["status"] == "cancelled"
            jobs = http.get("batchPredictions/", params={"jobDefinitionId": definition_id}).json()[
                "data"
            ]
            # the ones released before the cancel, aborted or finished
            assert len(jobs) == released, jobs
        assert len(list((root / "out").iterdir())) <= released
    finally:
        server.stop()
