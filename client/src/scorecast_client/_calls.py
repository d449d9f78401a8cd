"""Requests described once, sent by the blocking or the asyncio transport.

A ``Call[T]`` is one request and the type of its answer; a ``Listing[T]`` is a paged list
(DataRobot's ``{count, next, data}`` envelope) and the type of its items. The resources build
them (pure code, no I/O); ``SyncTransport.call``/``AsyncTransport.call`` and
``iterate``/``aiterate`` send them, so ``Client`` and ``AsyncClient`` cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from scorecast_client._exceptions import InvalidId

T = TypeVar("T")

Params = Mapping[str, str | int | list[str]]


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request relative to the endpoint (or an absolute URL); its JSON answer is a ``T``."""

    method: str
    url: str
    params: Params | None = None
    #: the JSON body, if any
    body: Any = None
    #: False when the answer has no body (a DELETE's 204): the call then returns None
    answered: bool = True
    #: keys the answer (a JSON object) must hold, e.g. ``("id",)``
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Listing(Generic[T]):
    """Every item of every page of a list URL (``next`` is followed verbatim)."""

    path: str
    params: Params = field(default_factory=dict)
    #: the key that tells items apart: an item seen on an earlier page is not yielded again
    identity: str = "id"


@dataclass(frozen=True)
class Collection(Generic[T]):
    """The usual calls on a collection URL: ``credentials/`` and ``credentials/{id}/``."""

    path: str
    #: keys every item of the collection holds (its id first): an answer without them is not one
    keys: tuple[str, ...] = ()

    def item(self, ident: str) -> str:
        """The URL of one item: ``ident`` is one percent-encoded path segment (``segment``)."""
        return f"{self.path}{segment(ident)}/"

    def create(self, body: Mapping[str, Any]) -> Call[T]:
        return Call("POST", self.path, body=dict(body), keys=self.keys)

    def get(self, ident: str) -> Call[T]:
        return Call("GET", self.item(ident), keys=self.keys)

    def update(self, ident: str, changes: Mapping[str, Any]) -> Call[T]:
        return Call("PATCH", self.item(ident), body=dict(changes), keys=self.keys)

    def delete(self, ident: str) -> Call[None]:
        return Call("DELETE", self.item(ident), answered=False)

    def listing(self, **params: str | int | list[str] | None) -> Listing[T]:
        """The collection's items filtered by the query parameters given (``None`` left out)."""
        return Listing(self.path, compact(**params), self.keys[0] if self.keys else "id")


def segment(value: str) -> str:
    """``value`` (an id given by a caller) as one percent-encoded path segment.

    Nothing in it can reach another URL: ``/``, ``?``, ``#`` and ``%`` are encoded, and so are
    the dots of ``.`` and ``..``, which httpx would otherwise resolve. Raises ValueError for a
    value that cannot be an id (``InvalidId``, a ValueError too): an empty one, or one with a
    ``/`` (the server decodes ``%2F`` before it routes a request, so the value could still name
    another object).
    """
    if not value:
        raise InvalidId("an id must not be empty")
    if not is_segment(value):
        raise InvalidId(f"{value!r} is not an id: an id has no '/'")
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def is_segment(value: str) -> bool:
    """True when ``segment`` takes ``value``: not empty, no ``/``."""
    return bool(value) and "/" not in value


def compact(**params: str | int | list[str] | None) -> dict[str, str | int | list[str]]:
    """The query parameters that were given (``None`` and empty lists left out)."""
    return {key: value for key, value in params.items() if value not in (None, [])}
