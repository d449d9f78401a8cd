"""DataRobot's list envelope ``{count, totalCount, next, previous, data}``, followed to its end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from scorecast_client._transport import AsyncTransport, SyncTransport

Params = Mapping[str, str | int | list[str]]


def iterate(transport: SyncTransport, path: str, params: Params) -> Iterator[Any]:
    """Every item of every page; ``next`` is followed verbatim (it repeats the filters)."""
    url: str | None = path
    query: Params | None = params
    while url:
        page = transport.json("GET", url, params=query)
        yield from page.get("data", [])
        url, query = page.get("next"), None


async def aiterate(transport: AsyncTransport, path: str, params: Params) -> AsyncIterator[Any]:
    url: str | None = path
    query: Params | None = params
    while url:
        page = await transport.json("GET", url, params=query)
        for item in page.get("data", []):
            yield item
        url, query = page.get("next"), None


def compact(**params: str | int | list[str] | None) -> dict[str, str | int | list[str]]:
    """The query parameters that were given (``None`` and empty lists left out)."""
    return {key: value for key, value in params.items() if value not in (None, [])}
