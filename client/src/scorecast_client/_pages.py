"""DataRobot's list envelope ``{count, totalCount, next, previous, data}``, followed to its end.

The pages are offsets into a list that may change meanwhile. An object created while a
newest-first list is read shifts the rest by one: the next page would repeat an item, which is
dropped here (by ``Listing.identity``). An object deleted meanwhile shifts it the other way, and
the item that moves onto the page already read is missed: no client can see that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar, cast

from scorecast_client._calls import Listing, Params
from scorecast_client._exceptions import ScorecastError
from scorecast_client._transport import AsyncTransport, SyncTransport

T = TypeVar("T")


def iterate(transport: SyncTransport, listing: Listing[T]) -> Iterator[T]:
    """Every item of every page once; ``next`` is followed verbatim (it repeats the filters)."""
    url: str | None = listing.path
    query: Params | None = listing.params
    seen: set[Any] = set()
    while url:
        page = transport.json("GET", url, params=query, keys=("data",))
        yield from cast(list[T], unseen(page_items(page, url), listing.identity, seen))
        url, query = page.get("next"), None


async def aiterate(transport: AsyncTransport, listing: Listing[T]) -> AsyncIterator[T]:
    """``iterate`` for asyncio."""
    url: str | None = listing.path
    query: Params | None = listing.params
    seen: set[Any] = set()
    while url:
        page: Any = await transport.json("GET", url, params=query, keys=("data",))
        for item in unseen(page_items(page, url), listing.identity, seen):
            yield cast(T, item)
        url, query = page.get("next"), None


def page_items(page: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """The ``data`` of a page; ScorecastError when it is not a list of JSON objects."""
    items = page["data"]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ScorecastError(f"the page of {url} is not a list of objects")
    return items


def unseen(items: list[dict[str, Any]], identity: str, seen: set[Any]) -> list[dict[str, Any]]:
    """The items whose ``identity`` is not in ``seen`` yet (which they are added to); an item
    without a hashable identity is always kept."""
    kept = []
    for item in items:
        ident = item.get(identity)
        if isinstance(ident, str | int):
            if ident in seen:
                continue
            seen.add(ident)
        kept.append(item)
    return kept
