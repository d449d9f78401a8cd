"""DataRobot's list envelope ``{count, totalCount, next, previous, data}``, followed to its end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar, cast

from scorecast_client._calls import Listing, Params
from scorecast_client._exceptions import ScorecastError
from scorecast_client._transport import AsyncTransport, SyncTransport

T = TypeVar("T")


def iterate(transport: SyncTransport, listing: Listing[T]) -> Iterator[T]:
    """Every item of every page; ``next`` is followed verbatim (it repeats the filters)."""
    url: str | None = listing.path
    query: Params | None = listing.params
    while url:
        page = transport.json("GET", url, params=query, keys=("data",))
        yield from cast(list[T], page_items(page, url))
        url, query = page.get("next"), None


async def aiterate(transport: AsyncTransport, listing: Listing[T]) -> AsyncIterator[T]:
    """``iterate`` for asyncio."""
    url: str | None = listing.path
    query: Params | None = listing.params
    while url:
        page: Any = await transport.json("GET", url, params=query, keys=("data",))
        for item in page_items(page, url):
            yield cast(T, item)
        url, query = page.get("next"), None


def page_items(page: dict[str, Any], url: str) -> list[Any]:
    """The ``data`` of a page; ScorecastError when it is not a list of JSON objects."""
    items = page["data"]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ScorecastError(f"the page of {url} is not a list of objects")
    return items
