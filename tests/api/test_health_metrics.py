"""``/healthz``, ``/readyz`` and ``/metrics`` over HTTP: no token for the health checks, which
fail (503) naming the check when the store is gone, behind on migrations or without its
folders; the metrics need an administrator's token (unless the operator made them public),
parse with prometheus-client's own parser and agree with the API's counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from live_api import LiveServer, serve_app
from scorecast.service.accounts import create_token
from scorecast.store.db import create_engine_for, session_scope
from scorecast.store.migration_head import expected_revision
from scorecast.store.models import Job, Organization, User


def test_healthz_and_readyz_answer_without_a_token(live_server: LiveServer) -> None:
    alive = httpx.get(f"{live_server.base_url}/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    ready = httpx.get(f"{live_server.base_url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"store": "ok", "migrations": "ok", "storage": "ok"},
    }


def test_readyz_fails_naming_the_check(live_server: LiveServer) -> None:
    url = f"{live_server.base_url}/readyz"
    with live_server.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    behind = httpx.get(url)
    assert behind.status_code == 503
    assert behind.json()["checks"] == {"store": "ok", "migrations": "failed", "storage": "ok"}
    with live_server.engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = :head"), {"head": expected_revision()}
        )
    assert httpx.get(url).status_code == 200
    live_server.settings.results_dir.rmdir()
    assert httpx.get(url).json()["checks"]["storage"] == "failed"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_readyz_is_503_not_500_when_the_store_is_gone(
    live_server: LiveServer, tmp_path: Path
) -> None:
    gone = create_engine_for(f"sqlite:///{tmp_path / 'missing' / 'store.db'}")
    with serve_app(live_server.settings, gone) as base_url:
        answer = httpx.get(f"{base_url}/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["store"] == "failed"
    assert "missing" not in answer.text  # no path, address or error text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_api_request_the_store_cannot_serve_is_503_with_retry_after(
    live_server: LiveServer, tmp_path: Path
) -> None:
    gone = create_engine_for(f"sqlite:///{tmp_path / 'missing' / 'store.db'}")
    with serve_app(live_server.settings, gone) as base_url:
        answer = httpx.get(f"{base_url}/api/v2/batchPredictions/", headers=live_server.headers())
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "5"
    assert answer.json()["message"].startswith("the store is unavailable or busy")
    assert "missing" not in answer.text  # no path, address or error text


@pytest.fixture
def admin_token(live_server: LiveServer) -> str:
    with session_scope(live_server.engine) as session:
        return create_token(session, "org-a", "root", is_admin=True)


def _families(body: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(body)}


def _value(families: dict[str, Any], name: str, **labels: str) -> float:
    for sample in families[name].samples:
        if sample.name in (name, f"{name}_total") and all(
            sample.labels.get(k) == v for k, v in labels.items()
        ):
            return float(sample.value)
    return 0.0


def test_metrics_need_an_administrators_token(live_server: LiveServer, admin_token: str) -> None:
    url = f"{live_server.base_url}/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=live_server.headers()).status_code == 403  # alice: not admin
    answer = httpx.get(url, headers=live_server.headers(admin_token))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "scorecast_queue_depth" in _families(answer.text)


def test_metrics_agree_with_the_apis_counts(live_server: LiveServer, admin_token: str) -> None:
    with session_scope(live_server.engine) as session:
        org = session.query(Organization).filter_by(name="org-a").one()
        user = session.query(User).filter_by(org_id=org.id, username="alice").one()
        spec = {"deploymentId": "0" * 24, "numConcurrent": 1}
        for index, (status, source) in enumerate(
            [("COMPLETED", "api")] * 3 + [("FAILED", "scheduled")] * 2 + [("INITIALIZING", "api")]
        ):
            session.add(
                Job(
                    org_id=org.id,
                    deployment_id="0" * 24,
                    created_by=user.id,
                    spec=spec,
                    status=status,
                    source=source,
                    queued=status == "INITIALIZING",
                    intake_ready=True,
                    scored_rows=100 * (index + 1),
                    failed_rows=index,
                )
            )
    with httpx.Client(base_url=live_server.url + "/", headers=live_server.headers()) as api:
        listed = api.get("batchPredictions/", params={"limit": 1000}).json()["data"]
        counts = {
            status: api.get("batchPredictions/", params={"status": status}).json()["totalCount"]
            for status in ("COMPLETED", "FAILED", "INITIALIZING")
        }
    body = httpx.get(f"{live_server.base_url}/metrics", headers=live_server.headers(admin_token))
    families = _families(body.text)
    assert counts == {"COMPLETED": 3, "FAILED": 2, "INITIALIZING": 1}
    for status, expected in counts.items():
        found = sum(
            s.value for s in families["scorecast_jobs"].samples if s.labels["status"] == status
        )
        assert found == expected, status
    assert _value(families, "scorecast_jobs", status="FAILED", source="scheduled") == 2
    assert _value(families, "scorecast_rows_scored") == sum(j["scoredRows"] for j in listed)
    assert _value(families, "scorecast_rows_failed") == sum(j["failedRows"] for j in listed)
    assert _value(families, "scorecast_queue_depth") == 1
    requests = _value(
        families,
        "scorecast_http_requests",
        method="GET",
        route="/api/v2/batchPredictions/",
        status="200",
    )
    assert requests == 4  # the list and the three counts above
    routes = {s.labels["route"] for s in families["scorecast_http_requests"].samples}
    assert not any(job["id"] in route for job in listed for route in routes)  # templates only


@pytest.fixture
def public_metrics(live_server: LiveServer) -> Iterator[str]:
    settings = replace(live_server.settings, metrics_public=True)
    with serve_app(settings, live_server.engine) as base_url:
        yield f"{base_url}/metrics"


def test_metrics_can_be_made_public_by_the_operator(public_metrics: str) -> None:
    answer = httpx.get(public_metrics)
    assert answer.status_code == 200 and "scorecast_jobs" in answer.text
