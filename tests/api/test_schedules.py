"""``POST schedules/preview/``, a definition's ``schedulePreview/`` and ``fires/`` over HTTP:
field errors name the field, another organization's definition is 404, fires page newest
first with their filters."""

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

from scorecast.store.db import session_scope
from scorecast.store.models import ScheduleFire

LONDON_01_30 = {
    "minute": [30],
    "hour": [1],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
    "timezone": "Europe/London",
}


def test_preview_gives_fires_in_utc_and_local_time_with_dst_marks(api_a: Api) -> None:
    body = {"schedule": LONDON_01_30, "after": "2026-03-28T12:00:00Z", "count": 2}
    answer = api_a.post("schedules/preview/", json=body)
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["timezone"] == "Europe/London"
    assert "01:30" in preview["description"]
    assert preview["fires"] == [
        {"utc": "2026-03-29T01:00:00.000000Z", "local": "2026-03-29T02:00:00+01:00", "dst": "gap"},
        {"utc": "2026-03-30T00:30:00.000000Z", "local": "2026-03-30T01:30:00+01:00", "dst": None},
    ]
    assert any("does not exist" in w or "gap" in w for w in preview["warnings"])


def test_preview_errors_name_the_field(api_a: Api) -> None:
    bad_minute = {**LONDON_01_30, "minute": [60]}
    body = assert_json_error(api_a.post("schedules/preview/", json={"schedule": bad_minute}), 422)
    assert "minute" in str(body["errors"])
    for payload, field in [
        ({}, "schedule"),
        ({"schedule": LONDON_01_30, "count": 0}, "count"),
        ({"schedule": LONDON_01_30, "count": 10**6}, "count"),
        ({"schedule": LONDON_01_30, "after": "yesterday"}, "after"),
        ({"schedule": LONDON_01_30, "after": 5}, "after"),
        ({"schedule": LONDON_01_30, "colour": "red"}, "colour"),
    ]:
        body = assert_json_error(api_a.post("schedules/preview/", json=payload), 422)
        assert field in body["errors"], (payload, body)
    assert (
        api_a.post("schedules/preview/", headers={"Authorization": ""}, json={}).status_code == 401
    )


def _definition(api: Api, deployment: str, schedule: dict[str, Any] | None) -> str:
    body: dict[str, Any] = {
        "deploymentId": deployment,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
        "enabled": False,
    }
    if schedule is not None:
        body["schedule"] = schedule
    answer = api.post("batchPredictionJobDefinitions/", json=body)
    assert answer.status_code == 202, answer.text
    definition_id: str = answer.json()["id"]
    return definition_id


def test_definition_preview_and_fires(
    api_a: Api, api_b: Api, deployment_a: str, live_server: Any
) -> None:
    definition_id = _definition(api_a, deployment_a, LONDON_01_30)
    preview = api_a.get(f"batchPredictionJobDefinitions/{definition_id}/schedulePreview/?count=5")
    assert preview.status_code == 200 and len(preview.json()["fires"]) == 5
    assert_json_error(
        api_a.get(f"batchPredictionJobDefinitions/{definition_id}/schedulePreview/?count=0"), 422
    )
    unscheduled = _definition(api_a, deployment_a, None)
    empty = api_a.get(f"batchPredictionJobDefinitions/{unscheduled}/schedulePreview/").json()
    assert empty["fires"] == []

    base = datetime(2026, 1, 1, 1, 30, tzinfo=UTC)
    outcomes = ["started", "skipped", "missed", "started", "failed"]
    with session_scope(live_server.engine) as session:
        for day, outcome in enumerate(outcomes):
            session.add(
                ScheduleFire(
                    definition_id=definition_id,
                    scheduled_time=base + timedelta(days=day),
                    outcome=outcome,
                    reason=None if outcome == "started" else f"because {outcome}",
                    lateness_seconds=1.5 if outcome == "started" else None,
                )
            )
    url = f"batchPredictionJobDefinitions/{definition_id}/fires/"
    page = api_a.get(url, params={"limit": 2}).json()
    assert page["totalCount"] == 5 and page["count"] == 2 and page["next"]
    assert [f["outcome"] for f in page["data"]] == ["failed", "started"]
    assert page["data"][0]["scheduledTime"] == "2026-01-05T01:30:00.000000Z"
    assert [f["latenessSeconds"] for f in page["data"]] == [None, 1.5]
    second = api_a.get(page["next"]).json()
    assert [f["outcome"] for f in second["data"]] == ["missed", "skipped"]
    only = api_a.get(url, params=[("outcome", "skipped"), ("outcome", "missed")]).json()
    assert [f["reason"] for f in only["data"]] == ["because missed", "because skipped"]
    ranged = api_a.get(url, params={"start": "2026-01-02T00:00:00Z", "end": "2026-01-04"}).json()
    assert [f["scheduledTime"][:10] for f in ranged["data"]] == ["2026-01-03", "2026-01-02"]
    assert (
        "outcome" in assert_json_error(api_a.get(url, params={"outcome": "eaten"}), 422)["errors"]
    )
    assert "start" in assert_json_error(api_a.get(url, params={"start": "soon"}), 422)["errors"]
    backwards = api_a.get(url, params={"start": "2026-01-05", "end": "2026-01-01"})
    assert "end" in assert_json_error(backwards, 422)["errors"]

    assert_json_error(api_b.get(url), 404)
    assert_json_error(
        api_b.get(f"batchPredictionJobDefinitions/{definition_id}/schedulePreview/"), 404
    )
