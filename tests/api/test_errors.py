"""Error answers: DataRobot-style JSON with the exact content type, 4xx for caller mistakes,
500 with a request id and no traceback for unexpected failures."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter

from live_api import LiveServer, serve_app
from scorecast.api.app import API_PREFIX


def _check_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    response.content.decode("ascii")  # the client decodes non-JSON errors as ASCII
    body = response.json()
    assert set(body) == {"message", "errors"}
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    return body


def test_malformed_json_is_422_naming_the_body(live_server: LiveServer) -> None:
    response = httpx.post(
        f"{live_server.url}/credentials/",
        content=b'{"name": ',
        headers={**live_server.headers(), "Content-Type": "application/json"},
    )
    body = _check_error(response, 422)
    assert "body" in body["errors"]  # type: ignore[operator]


def test_wrong_query_type_is_422_naming_the_parameter(live_server: LiveServer) -> None:
    response = httpx.get(
        f"{live_server.url}/credentials/", params={"limit": "many"}, headers=live_server.headers()
    )
    body = _check_error(response, 422)
    assert "limit" in body["errors"]  # type: ignore[operator]


def test_unknown_route_and_method_are_json(live_server: LiveServer) -> None:
    _check_error(httpx.get(f"{live_server.url}/noSuchThing/", headers=live_server.headers()), 404)
    _check_error(httpx.delete(f"{live_server.url}/version/", headers=live_server.headers()), 405)


def test_non_ascii_message_is_escaped(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/credentials/ü/", headers=live_server.headers())
    _check_error(response, 404)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_unexpected_failure_is_500_with_request_id(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    from scorecast.api.app import create_app

    def explode() -> None:
        raise RuntimeError("secret internals")

    router = APIRouter()
    router.add_api_route("/explode/", explode, methods=["GET"])
    app = create_app(live_server.settings, live_server.engine)
    app.include_router(router, prefix=API_PREFIX)
    with serve_app(live_server.settings, live_server.engine, app=app) as base_url:
        response = httpx.get(f"{base_url}{API_PREFIX}/explode/")
    body = _check_error(response, 500)
    request_id = response.headers["x-request-id"]
    assert request_id in str(body["message"])
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert any(request_id in record.getMessage() for record in caplog.records)


def test_every_response_has_a_request_id(live_server: LiveServer) -> None:
    first = httpx.get(f"{live_server.url}/version/").headers["x-request-id"]  # a 401 too
    second = httpx.get(f"{live_server.url}/version/").headers["x-request-id"]
    assert first and second and first != second


def test_openapi_and_docs_are_served(live_server: LiveServer) -> None:
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    assert f"{API_PREFIX}/version/" in schema["paths"]
    assert httpx.get(f"{live_server.base_url}/docs").status_code == 200


def test_values_the_store_cannot_hold_are_422_not_500(live_server: LiveServer) -> None:
    headers = live_server.headers()
    url = f"{live_server.url}/credentials/"
    body = {"name": "nul\u0000name", "credentialType": "basic", "user": "u", "password": "p"}
    created = httpx.post(url, json=body, headers=headers)
    assert created.status_code in (201, 422), created.text  # SQLite stores NUL, PostgreSQL cannot
    for path in (f"{url}%00/", f"{live_server.url}/deployments/a%00b/"):
        response = httpx.get(path, headers=headers)
        assert response.status_code in (404, 422), response.text  # PostgreSQL refuses NUL
        _check_error(response, response.status_code)
