"""Ids given by a caller stay one path segment of the URL they name, and an answer that is not
the object asked for is a ScorecastError, not a KeyError (no server needed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast_client import Client, InvalidId, ScorecastError
from scorecast_client._backfills import backfills, cancel_call
from scorecast_client._calls import segment
from scorecast_client._definitions import fires_listing, preview_call
from scorecast_client._jobs import JOBS, abort_call
from scorecast_client._notifications import channel_test_call, deliveries_listing

ENDPOINT = "http://scorecast.test/api/v2"
ID = "65f0c0ffee0000000000abcd"

Handler = Callable[[httpx.Request], httpx.Response]


@given(st.text(min_size=1).filter(lambda text: "/" not in text))
def test_an_id_becomes_one_segment_that_decodes_to_itself(ident: str) -> None:
    encoded = segment(ident)
    assert not set(encoded) & set("/?#[]@ \\")
    assert encoded not in (".", "..")
    assert unquote(encoded) == ident


@pytest.mark.parametrize("ident", ["", "../deployments/" + ID, "a/b", "/"])
def test_an_id_that_cannot_be_one_segment_is_refused(ident: str) -> None:
    with pytest.raises(InvalidId, match="id"):
        segment(ident)


def test_every_path_built_from_an_id_encodes_it() -> None:
    assert JOBS.get("#").url == "batchPredictions/%23/"
    assert abort_call("..").url == "batchPredictions/%2E%2E/"
    assert fires_listing("?x", None, None, None).path == "batchPredictionJobDefinitions/%3Fx/fires/"
    assert preview_call(".", 3).url == "batchPredictionJobDefinitions/%2E/schedulePreview/"
    assert backfills("a b").path == "batchPredictionJobDefinitions/a%20b/backfills/"
    assert cancel_call(ID, "#1").url == f"batchPredictionJobDefinitions/{ID}/backfills/%231/"
    assert deliveries_listing("%", None).path == "notificationChannels/%25/deliveries/"
    assert channel_test_call("..").url == "notificationChannels/%2E%2E/test/"


def _client(handler: Handler, seen: list[str]) -> Client:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.raw_path.decode()}")
        return handler(request)

    return Client(ENDPOINT, "token", transport=httpx.MockTransport(record))


def test_an_id_with_a_slash_is_never_sent() -> None:
    seen: list[str] = []
    with _client(lambda request: httpx.Response(204), seen) as client:
        with pytest.raises(InvalidId, match="not an id"):
            client.jobs.abort(f"../deployments/{ID}")
        with pytest.raises(InvalidId, match="not an id"):
            client.deployments.delete(f"x/../{ID}")
    assert seen == []


def test_a_listing_in_place_of_an_object_is_a_clean_error() -> None:
    envelope = {"count": 0, "next": None, "previous": None, "data": []}
    seen: list[str] = []
    with _client(lambda request: httpx.Response(200, json=envelope), seen) as client:
        with pytest.raises(ScorecastError, match="has no id, status"):
            client.jobs.get("#")
        with pytest.raises(ScorecastError, match="has no id, name"):
            client.definitions.get("#")
        with pytest.raises(ScorecastError, match="has no id, label"):
            client.deployments.get(ID)
    assert seen[0] == "GET /api/v2/batchPredictions/%23/"


def test_an_empty_or_foreign_answer_is_a_clean_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(204)
        if "batchPredictions/" in request.url.path:
            return httpx.Response(200, text="<html>a proxy's page</html>")
        return httpx.Response(200, content=json.dumps({"items": []}).encode())

    with _client(answer, []) as client:
        with pytest.raises(ScorecastError, match="is not JSON"):
            client.jobs.abort(ID)
        with pytest.raises(ScorecastError, match="is not JSON"):
            list(client.jobs.list())
        with pytest.raises(ScorecastError, match="has no data"):
            list(client.deployments.list())
