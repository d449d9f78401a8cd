"""A plain handler ends its unit of work in its own thread (``api/transactions.py``): the same
answer as FastAPI's, the commit in the handler's thread, a rollback when it raises."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Engine, event, select

from live_api import LiveServer, serve_app
from scorecast.api.deps import SessionDep
from scorecast.api.errors import AsciiJSONResponse, install_error_handlers
from scorecast.api.transactions import TransactionRoute
from scorecast.config import Settings
from scorecast.errors import InvalidInput
from scorecast.service import accounts
from scorecast.store.db import create_engine_for
from scorecast.store.models import Organization


class _Shown(BaseModel):
    name: str


def _answers(router: APIRouter) -> None:
    """Handlers that use no session: served by a plain ``APIRoute`` and a ``TransactionRoute``
    alike, their answers must be byte for byte the same."""

    @router.post("/made/", status_code=202)
    def made(response: Response) -> dict[str, Any]:
        response.headers["Location"] = "http://example.test/made/1/"
        return {"name": "caf\u00e9 \u2603", "ratio": 1e-07, "big": 1e16, "items": (1, True, None)}

    @router.get("/plain/")
    def plain() -> dict[str, object]:
        return {"major": 2, "nested": {"a": [1.5, "x"]}}

    @router.get("/moved/")
    def moved(response: Response) -> dict[str, Any]:
        response.status_code = 203
        response.headers["X-Extra"] = "yes"
        return {"moved": True}

    @router.get("/moment/")
    def moment() -> dict[str, Any]:  # json cannot render a datetime: FastAPI's way
        return {"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}

    @router.get("/nan/")
    def not_a_number() -> dict[str, Any]:  # nor NaN as FastAPI does: FastAPI's way
        return {"x": math.nan, "y": 1.0}

    @router.get("/listed/")
    def listed() -> list[int]:  # not a dict: FastAPI's way
        return [1, 2, 3]

    @router.get("/modelled/", response_model=_Shown)
    def modelled() -> dict[str, Any]:  # a response model filters the dict: FastAPI's way
        return {"name": "shown", "secret": "not shown"}

    @router.get("/refused/")
    def refused() -> dict[str, Any]:
        raise InvalidInput.at("what", "is refused")


def _app(engine: Engine, route_class: type[APIRoute], *, units: bool) -> FastAPI:
    app = FastAPI(default_response_class=AsciiJSONResponse)
    app.state.engine = engine
    install_error_handlers(app)
    router = APIRouter(route_class=route_class)
    _answers(router)
    if units:
        _units(router)
    app.include_router(router, prefix="/api")
    return app


@pytest.fixture
def store(settings: Settings) -> Iterator[Engine]:
    engine = create_engine_for(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "made/"),
        ("GET", "plain/"),
        ("GET", "moved/"),
        ("GET", "moment/"),
        ("GET", "nan/"),
        ("GET", "listed/"),
        ("GET", "modelled/"),
        ("GET", "refused/"),
    ],
)
def test_a_unit_answers_exactly_as_fastapi_does(
    settings: Settings, store: Engine, method: str, path: str
) -> None:
    answers = []
    for route_class in (APIRoute, TransactionRoute):
        app = _app(store, route_class, units=False)
        with serve_app(settings, store, app) as base, httpx.Client(base_url=base) as http:
            answer = http.request(method, f"/api/{path}")
        headers = {k: v for k, v in answer.headers.items() if k not in {"date", "server"}}
        answers.append((answer.status_code, headers, answer.content))
    assert answers[0] == answers[1]


def _units(router: APIRouter) -> None:
    """Handlers that write through the request's session."""

    @router.post("/orgs/{name}/", status_code=201)
    def add(name: str, session: SessionDep) -> dict[str, Any]:
        organization = accounts.ensure_organization(session, name)
        threads = router.__dict__.setdefault("threads", [])
        threads.append(("handler", threading.get_ident()))
        return {"id": organization.id}

    @router.post("/orgs/{name}/refused/")
    def add_then_refuse(name: str, session: SessionDep) -> dict[str, Any]:
        accounts.ensure_organization(session, name)
        raise InvalidInput.at("name", "refused after writing")


def test_a_plain_handler_commits_in_its_own_thread_and_rolls_back_when_it_raises(
    settings: Settings, store: Engine
) -> None:
    app = _app(store, TransactionRoute, units=True)
    router = next(r.original_router for r in app.routes if hasattr(r, "original_router"))
    commits: list[int] = []
    event.listen(store, "commit", lambda _connection: commits.append(threading.get_ident()))
    with serve_app(settings, store, app) as base, httpx.Client(base_url=base) as http:
        added = http.post("/api/orgs/kept/")
        refused = http.post("/api/orgs/dropped/refused/")
    assert added.status_code == 201, added.text
    assert refused.status_code == 422, refused.text
    assert commits == [thread for _, thread in router.__dict__["threads"]]  # one, same thread
    with store.connect() as connection:
        names = set(connection.scalars(select(Organization.name)))
    assert "kept" in names and "dropped" not in names


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_bad_token_is_refused_before_a_bad_parameter(live_server: LiveServer) -> None:
    """The token check runs in the handler's thread, yet a request that fails before its
    handler still meets it first, as when it ran as a dependency of its own."""
    refused = {"limit": -5}  # a query parameter FastAPI refuses before the handler runs
    with httpx.Client(base_url=live_server.url + "/", timeout=120) as http:
        bad = http.get("batchPredictions/", params=refused, headers={"Authorization": "Token x"})
        good = http.get("batchPredictions/", params=refused, headers=live_server.headers())
        missing = http.post("batchPredictions/", json={"deploymentId": 5})
    assert bad.status_code == 401, bad.text
    assert good.status_code == 422, good.text
    assert missing.status_code == 401, missing.text
