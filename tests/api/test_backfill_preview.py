"""``service.backfills.preview_backfill``, the console's preview, on both stores: it plans what
``POST …/backfills/`` then creates (fire times, those left alone), refuses what the API refuses
with the same errors by field, stores nothing, and finds no other organization's definition."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    assert_json_error,
    deployment_a_fixture,
)

from live_api import file_root_settings_fixture  # noqa: F401 (the settings fixture)
from scorecast.errors import InvalidInput, NotFound
from scorecast.service import accounts, backfills
from scorecast.store.db import session_scope
from scorecast.store.types import utcnow

DAILY_0300 = {"minute": [0], "hour": [3], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}


def _definition(api: Api, deployment: str, root: Path) -> str:
    answer = api.post(
        "batchPredictionJobDefinitions/",
        json={
            "deploymentId": deployment,
            "intakeSettings": {"type": "filesystem", "url": (root / "in.csv").as_uri()},
            "outputSettings": {"type": "filesystem", "url": (root / "out.csv").as_uri()},
            "enabled": False,
            "schedule": DAILY_0300,
        },
    )
    assert answer.status_code == 202, answer.text
    definition_id: str = answer.json()["id"]
    return definition_id


def _preview(live_server: Any, token: str, definition_id: str, body: dict[str, Any]) -> Any:
    wanted = backfills.BackfillRequest(
        start=datetime.fromisoformat(body["start"]),
        end=datetime.fromisoformat(body["end"]),
        max_concurrent=body.get("maxConcurrent", 1),
        rerun=body.get("rerun", False),
    )
    with session_scope(live_server.engine, deferred=True) as session:
        caller = accounts.authenticate_reading(live_server.engine, token)
        return backfills.preview_backfill(
            session, caller, definition_id, wanted, utcnow(), app_settings=live_server.settings
        )


def test_the_preview_plans_what_the_backfill_then_does(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    root = live_server.settings.file_roots[0]
    definition_id = _definition(api_a, deployment_a, root)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    first = {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-05T00:00:00+00:00"}
    seen = _preview(live_server, live_server.token, definition_id, first)
    assert (seen.total, seen.planned, seen.skipped) == (4, 4, 0)
    assert seen.first == datetime(2026, 1, 1, 3, tzinfo=UTC)
    assert seen.last == datetime(2026, 1, 4, 3, tzinfo=UTC)
    assert api_a.get(path).json()["totalCount"] == 0  # nothing stored
    # all four released at once: each time gets its job and its fire row now
    assert api_a.post(path, json={**first, "maxConcurrent": 4}).json()["progress"]["total"] == 4

    wider = {"start": "2026-01-03T00:00:00+00:00", "end": "2026-01-08T00:00:00+00:00"}
    seen = _preview(live_server, live_server.token, definition_id, wider)
    assert (seen.total, seen.planned, seen.skipped) == (5, 3, 2)  # 3 and 4 January have fires
    created = api_a.post(path, json=wider).json()["progress"]
    assert (created["total"], created["skipped"]) == (5, 2)
    seen = _preview(live_server, live_server.token, definition_id, {**wider, "rerun": True})
    assert (seen.planned, seen.skipped) == (5, 0)


REFUSED: list[dict[str, Any]] = [
    {"start": "2026-01-05T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"},
    {"start": "2026-01-01T00:00:00+00:00", "end": "9000-01-01T00:00:00+00:00"},
    {"start": "2026-01-01T00:10:00+00:00", "end": "2026-01-01T00:20:00+00:00"},
    {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00", "maxConcurrent": 0},
]


def test_the_preview_refuses_what_the_api_refuses(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    root = live_server.settings.file_roots[0]
    definition_id = _definition(api_a, deployment_a, root)
    path = f"batchPredictionJobDefinitions/{definition_id}/backfills/"
    for body in REFUSED:
        refused = assert_json_error(api_a.post(path, json=body), 422)
        with pytest.raises(InvalidInput) as caught:
            _preview(live_server, live_server.token, definition_id, body)
        assert caught.value.errors == refused["errors"], body
    assert api_a.get(path).json()["totalCount"] == 0


def test_another_organization_finds_no_definition_to_preview(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    definition_id = _definition(api_a, deployment_a, live_server.settings.file_roots[0])
    other = live_server.token_for("org-b", "bob")
    body = {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00"}
    with pytest.raises(NotFound):
        _preview(live_server, other, definition_id, body)
