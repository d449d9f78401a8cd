"""``AsyncClient`` offers every resource and call of ``Client``, with the same parameters, and
awaits them: a call added to ``Client`` alone fails here (no server needed)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from scorecast_client import AsyncClient, AsyncJob, Client, Job

ENDPOINT = "http://127.0.0.1:9/api/v2"

#: blocking calls whose asyncio twin has another name
RENAMED = {"close": "aclose"}


def _public(obj: object) -> dict[str, Any]:
    return {
        name: getattr(obj, name)
        for name in dir(obj)
        if not name.startswith("_") and callable(getattr(obj, name))
    }


def _resources(client: object) -> dict[str, object]:
    return {
        name: value
        for name, value in vars(client).items()
        if not name.startswith("_") and not isinstance(value, str)
    }


def _awaited(method: Callable[..., Any]) -> bool:
    """A coroutine function, an async generator, or an async context manager factory."""
    if inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method):
        return True
    wrapped = getattr(method, "__wrapped__", None)
    return wrapped is not None and inspect.isasyncgenfunction(wrapped)


def _parameters(method: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(method).parameters.values()]


@pytest.fixture
def clients() -> tuple[Client, AsyncClient]:
    return Client(ENDPOINT, "token"), AsyncClient(ENDPOINT, "token")


def test_every_resource_and_call_of_client_is_on_the_async_client(
    clients: tuple[Client, AsyncClient],
) -> None:
    blocking, asynchronous = clients
    pairs = [(blocking, asynchronous)] + [
        (resource, getattr(asynchronous, name, None))
        for name, resource in _resources(blocking).items()
    ]
    assert set(_resources(blocking)) == set(_resources(asynchronous))
    for sync_side, async_side in pairs:
        for name, method in _public(sync_side).items():
            twin = getattr(async_side, RENAMED.get(name, name), None)
            where = f"{type(async_side).__name__}.{name}"
            assert twin is not None, f"{where} is missing"
            assert _awaited(twin), f"{where} is not awaited"
            assert _parameters(method) == _parameters(twin), where
    blocking.close()


def test_an_async_job_has_every_call_and_property_of_a_job() -> None:
    missing = [
        name for name in dir(Job) if not name.startswith("_") and not hasattr(AsyncJob, name)
    ]
    assert missing == []
