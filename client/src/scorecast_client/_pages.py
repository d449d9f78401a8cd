"""DataRobot's list envelope ``{count, totalCount, next, previous, data}``, followed to its end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar, cast

from scorecast_client._calls import Listing, Params
from scorecast_client._transport import AsyncTransport, SyncTransport

T = TypeVar("T")


def iterate(transport: SyncTransport, listing: Listing[T]) -> Iterator[T]:
    """Every item of every page; ``next`` is followed verbatim (it repeats the filters)."""
    url: str | None = listing.path
    query: Params | None = listing.params
    while url:
        page = transport.json("GET", url, params=query)
        yield from cast(list[T], page.get("data", []))
        url, query = page.get("next"), None


async def aiterate(transport: AsyncTransport, listing: Listing[T]) -> AsyncIterator[T]:
    """``iterate`` for asyncio."""
    url: str | None = listing.path
    query: Params | None = listing.params
    while url:
        page: Any = await transport.json("GET", url, params=query)
        for item in page.get("data", []):
            yield cast(T, item)
        url, query = page.get("next"), None
