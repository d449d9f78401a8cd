"""HTTP to the scorecast API: the token header, retries for safe methods, errors as exceptions.

``SyncTransport`` and ``AsyncTransport`` take an optional ``httpx`` transport, so tests and
embedders can route requests anywhere httpx can (an ASGI app, a proxy, a recorded server).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar, cast

import httpx

from scorecast_client import __version__
from scorecast_client._backoff import RetryPolicy, may_retry, parse_retry_after
from scorecast_client._calls import Call
from scorecast_client._exceptions import ScorecastError, TransportError, error_for_status
from scorecast_client._settings import ClientSettings

#: seconds; uploads and downloads of big files get a long read/write timeout
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
TRANSFER_TIMEOUT = httpx.Timeout(connect=10.0, read=660.0, write=660.0, pool=10.0)

T = TypeVar("T")


def _headers(settings: ClientSettings) -> dict[str, str]:
    return {
        "Authorization": f"Token {settings.token}",
        "User-Agent": f"scorecast-client/{__version__}",
        "Accept": "application/json",
    }


def tls_trust(endpoint: str) -> ssl.SSLContext | bool:
    """How requests check TLS: the usual CA bundle for an ``https`` endpoint.

    For an ``http`` endpoint, a context that verifies as strictly but trusts no certificate:
    loading the CA bundle costs 40-180 ms, most of a short command's start-up, and is of no use
    there; a link to an ``https`` URL then fails instead of going unverified.
    """
    if endpoint.lower().startswith("https:"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def raise_for_answer(response: httpx.Response) -> None:
    """Raises the APIError subclass for a 4xx/5xx answer; returns for anything else."""
    if response.status_code < 400:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    request_id = response.headers.get("x-request-id")
    text = "" if body is not None else response.text
    raise error_for_status(response.status_code, body, request_id, text)


def read_answer(response: httpx.Response, keys: tuple[str, ...] | None = None) -> Any:
    """The JSON of a 2xx answer. With ``keys``, it must be a JSON object holding them.

    Raises ScorecastError for any other answer (no body, HTML, another kind of object): the
    endpoint is not a scorecast API, or the URL was not the one meant.
    """
    try:
        body: Any = response.json()
    except ValueError:
        raise _unexpected(response, "is not JSON") from None
    if keys is None:
        return body
    if not isinstance(body, dict):
        raise _unexpected(response, "is not a JSON object")
    missing = [key for key in keys if key not in body]
    if missing:
        raise _unexpected(response, f"has no {', '.join(missing)}")
    return body


def _unexpected(response: httpx.Response, problem: str) -> ScorecastError:
    request = response.request
    return ScorecastError(
        f"the answer to {request.method} {request.url} {problem}; is the endpoint a scorecast API?"
    )


def _unreachable(settings: ClientSettings, exc: httpx.HTTPError) -> TransportError:
    return TransportError(
        f"cannot reach the scorecast API at {settings.endpoint} ({type(exc).__name__}: {exc})"
    )


class SyncTransport:
    """Blocking requests relative to the endpoint (``"batchPredictions/"``) or absolute URLs."""

    def __init__(
        self,
        settings: ClientSettings,
        retry: RetryPolicy,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.retry = retry
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=settings.endpoint + "/",
            headers=_headers(settings),
            timeout=DEFAULT_TIMEOUT,
            transport=transport,
            verify=tls_trust(settings.endpoint),
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The answer of a 2xx/3xx; raises APIError or TransportError otherwise."""
        retry = 0
        while True:
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if retry + 1 >= self.retry.attempts or not may_retry(method, None):
                    raise _unreachable(self.settings, exc) from None
                retry += 1
                self._sleep(self.retry.delay(retry))
                continue
            last = retry + 1 >= self.retry.attempts
            if not last and may_retry(method, response.status_code):
                retry += 1
                after = parse_retry_after(response.headers.get("Retry-After"))
                self._sleep(self.retry.delay(retry, after))
                continue
            raise_for_answer(response)
            return response

    def json(
        self, method: str, url: str, *, keys: tuple[str, ...] | None = None, **kwargs: Any
    ) -> Any:
        """The JSON answer (see ``read_answer`` for ``keys``)."""
        return read_answer(self.request(method, url, **kwargs), keys)

    def call(self, call: Call[T]) -> T:
        """Sends a request description; its answer (None for one without a body)."""
        response = self.request(call.method, call.url, params=call.params, json=call.body)
        return cast(T, read_answer(response, call.keys) if call.answered else None)

    @contextmanager
    def stream(self, url: str) -> Iterator[httpx.Response]:
        """A GET whose body is read as it arrives (the answer is checked first)."""
        try:
            with self._http.stream("GET", url, timeout=TRANSFER_TIMEOUT) as response:
                if response.status_code >= 400:
                    response.read()
                raise_for_answer(response)
                yield response
        except httpx.TransportError as exc:
            raise _unreachable(self.settings, exc) from None


class AsyncTransport:
    """``SyncTransport`` for asyncio: the same retries, errors and URLs."""

    def __init__(
        self,
        settings: ClientSettings,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.retry = retry
        self._http = httpx.AsyncClient(
            base_url=settings.endpoint + "/",
            headers=_headers(settings),
            timeout=DEFAULT_TIMEOUT,
            transport=transport,
            verify=tls_trust(settings.endpoint),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        retry = 0
        while True:
            try:
                response = await self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if retry + 1 >= self.retry.attempts or not may_retry(method, None):
                    raise _unreachable(self.settings, exc) from None
                retry += 1
                await asyncio.sleep(self.retry.delay(retry))
                continue
            last = retry + 1 >= self.retry.attempts
            if not last and may_retry(method, response.status_code):
                retry += 1
                after = parse_retry_after(response.headers.get("Retry-After"))
                await asyncio.sleep(self.retry.delay(retry, after))
                continue
            raise_for_answer(response)
            return response

    async def json(
        self, method: str, url: str, *, keys: tuple[str, ...] | None = None, **kwargs: Any
    ) -> Any:
        return read_answer(await self.request(method, url, **kwargs), keys)

    async def call(self, call: Call[T]) -> T:
        response = await self.request(call.method, call.url, params=call.params, json=call.body)
        return cast(T, read_answer(response, call.keys) if call.answered else None)

    @asynccontextmanager
    async def stream(self, url: str) -> AsyncIterator[httpx.Response]:
        try:
            async with self._http.stream("GET", url, timeout=TRANSFER_TIMEOUT) as response:
                if response.status_code >= 400:
                    await response.aread()
                raise_for_answer(response)
                yield response
        except httpx.TransportError as exc:
            raise _unreachable(self.settings, exc) from None
