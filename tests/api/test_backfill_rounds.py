"""The backfill pump's rounds on both stores: every running backfill is released every round
however many run, a round's work per transaction is bounded (a backfill whose times another
run fired meanwhile is walked over several short transactions), and a definition whose intake
became ``localFile`` ends its remaining times failed instead of leaving jobs that wait for an
upload.

Jobs are ended by writing their status (no worker runs here).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    deployment_a_fixture,
)
from backfill_rows import (  # noqa: F401 (pump_fixture is the pump fixture)
    DAILY_0300,
    backfill_definition,
    end_waiting_jobs,
    pump_fixture,
)
from sqlalchemy import event, insert, select

from live_api import file_root_settings_fixture  # noqa: F401 (the settings fixture)
from scorecast.runtime.backfill_pump import BackfillPump
from scorecast.service.backfill_release import (
    BACKFILLS_PER_TRANSACTION,
    MAX_TIMES_PER_TRANSACTION,
    release_backfills,
)
from scorecast.store.db import session_scope
from scorecast.store.models import BackfillFire, Job, ScheduleFire
from scorecast.store.types import utcnow

EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
}


def test_every_running_backfill_is_released_each_round(
    api_a: Api, deployment_a: str, live_server: Any, pump: BackfillPump
) -> None:
    """More running backfills than one transaction visits: the newest is released in the same
    round as the oldest (it used to wait behind the 100 oldest)."""
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root, DAILY_0300)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ids: list[str] = []
    for number in range(BACKFILLS_PER_TRANSACTION + 1):  # two fire times each, one at a time
        first = start + timedelta(days=2 * number)
        body = {
            "start": first.isoformat(),
            "end": (first + timedelta(days=2)).isoformat(),
        }
        answer = api_a.post(path, json=body)
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    end_waiting_jobs(live_server, definition_id)
    pump.round()
    for backfill_id in (ids[0], ids[-1]):
        progress = api_a.get(f"{path}{backfill_id}/").json()["progress"]
        assert (progress["done"], progress["waiting"], progress["planned"]) == (1, 1, 0)
    end_waiting_jobs(live_server, definition_id)
    pump.round()
    newest = api_a.get(f"{path}{ids[-1]}/").json()
    assert newest["status"] == "completed" and newest["progress"]["done"] == 2


def test_a_round_walks_times_fired_meanwhile_in_bounded_transactions(
    api_a: Api, deployment_a: str, live_server: Any, pump: BackfillPump
) -> None:
    """A backfill whose planned times another run fired since (a double submit): they end
    skipped, each release transaction examining at most ``MAX_TIMES_PER_TRANSACTION`` of them
    in a bounded number of statements (one long transaction used to walk them one by one)."""
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root, EVERY_MINUTE)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    start = datetime(2025, 1, 1, tzinfo=UTC)
    total = 3 * MAX_TIMES_PER_TRANSACTION + 7
    body = {"start": start.isoformat(), "end": (start + timedelta(minutes=total)).isoformat()}
    backfill = api_a.post(path, json=body).json()
    assert backfill["progress"]["waiting"] == 1
    fired_at = utcnow()
    with session_scope(live_server.engine) as session:  # another run fires all but the last
        session.execute(
            insert(ScheduleFire),
            [
                {
                    "definition_id": definition_id,
                    "scheduled_time": start + timedelta(minutes=minute),
                    "fired_at": fired_at,
                    "outcome": "started",
                }
                for minute in range(1, total - 1)
            ],
        )
    end_waiting_jobs(live_server, definition_id)

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = live_server.engine
    rounds = 0
    while api_a.get(f"{path}{backfill['id']}/").json()["progress"]["planned"]:
        rounds += 1
        assert rounds <= total // MAX_TIMES_PER_TRANSACTION + 2
        with session_scope(engine, immediate=True) as session:
            planned_before = _planned(session, backfill["id"])
            event.listen(engine, "before_cursor_execute", count)
            try:
                release_backfills(session, utcnow(), app_settings=live_server.settings)
            finally:
                event.remove(engine, "before_cursor_execute", count)
            examined = planned_before - _planned(session, backfill["id"])
        assert examined <= MAX_TIMES_PER_TRANSACTION
        assert len(statements) <= 60, statements[:5]
        statements.clear()
        end_waiting_jobs(live_server, definition_id)
    pump.round()
    done = api_a.get(f"{path}{backfill['id']}/").json()
    assert done["status"] == "completed"
    assert done["progress"]["skipped"] == total - 2 and done["progress"]["done"] == 2
    with session_scope(engine) as session:  # the skipped ones name the fire they found
        reasons = set(
            session.scalars(
                select(BackfillFire.reason).where(BackfillFire.state == "skipped")
            ).all()
        )
    assert reasons == {"this time already has a fire (started); rerun was not asked for"}


def _planned(session: Any, backfill_id: str) -> int:
    return len(
        session.scalars(
            select(BackfillFire.id).where(
                BackfillFire.backfill_id == backfill_id, BackfillFire.state == "planned"
            )
        ).all()
    )


def test_times_left_when_the_intake_becomes_local_file_end_failed(
    api_a: Api, deployment_a: str, live_server: Any, pump: BackfillPump
) -> None:
    """``localFile`` is refused when a backfill is asked for; a definition PATCHed to it
    meanwhile gets no job that would wait for an upload: its remaining times end failed, all
    in the next round (not ``maxConcurrent`` a round)."""
    root = live_server.settings.file_roots[0]
    definition_id = backfill_definition(api_a, deployment_a, root, DAILY_0300)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    body = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-31T00:00:00Z", "maxConcurrent": 1}
    backfill = api_a.post(path, json=body).json()
    patched = api_a.patch(
        f"batchPredictionJobDefinitions/{definition_id}/",
        json={"intakeSettings": {"type": "localFile"}},
    )
    assert patched.status_code == 200, patched.text
    end_waiting_jobs(live_server, definition_id)
    for _ in range(2):
        pump.round()
    done = api_a.get(f"{path}{backfill['id']}/").json()
    assert done["status"] == "completed"
    assert (done["progress"]["done"], done["progress"]["failed"]) == (1, 29)
    with session_scope(live_server.engine) as session:
        jobs = session.scalars(select(Job).where(Job.definition_id == definition_id)).all()
        assert len(jobs) == 1 and jobs[0].intake_ready
        reasons = session.scalars(
            select(BackfillFire.reason).where(BackfillFire.state == "failed")
        ).all()
    assert len(reasons) == 29
    assert all(reason and "localFile" in reason for reason in reasons)
