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
from scorecast_client._exceptions import (
    NotFound,
    ScorecastError,
    ServerError,
    TransportError,
    error_for_status,
    is_api_error,
)
from scorecast_client._settings import ClientSettings

#: seconds; uploads and downloads of big files get a long read/write timeout
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
TRANSFER_TIMEOUT = httpx.Timeout(connect=10.0, read=660.0, write=660.0, pool=10.0)
#: how the server's 404 for a URL that is no API route starts (``api/errors.py``)
NO_ROUTE = "no such API route"
#: seconds; the shortest timeout of one try of a request bounded by ``until`` (see ``request``)
MIN_TRY_TIMEOUT = 1.0

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
    """Returns for a 2xx answer. Raises the APIError subclass for an error answer of the API,
    ServerError for another 5xx, and ScorecastError for a redirect, another 4xx or a 404 for a
    route the API does not have: the endpoint is then not the API root (the API never
    redirects, and the SDK asks only for routes it has)."""
    status = response.status_code
    if status < 300:
        return
    if status < 400:
        where = response.headers.get("location", "")[:200]
        raise ScorecastError(
            f"{_what(response)} was redirected (HTTP {status} to {where or 'nowhere'}): the "
            "endpoint looks wrong; it should be the API root, e.g. http://HOST:PORT/api/v2"
        )
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    request_id = response.headers.get("x-request-id")
    if is_api_error(body) and not (status == 404 and body["message"].startswith(NO_ROUTE)):
        raise error_for_status(status, body, request_id)
    if is_api_error(body) and "/api/v2/" in response.request.url.path:
        # the API root, but a route this client knows and the server does not
        raise NotFound(
            status,
            f"{_what(response)}: the server has no such route; it may be an older scorecast "
            "than this client",
            {},
            request_id,
        )
    if is_api_error(body):  # the server, but not at the API root
        raise _unexpected(response, f"is HTTP 404 ({body['message']})")
    problem = f"is HTTP {status} without the API's error object"
    if status >= 500:  # e.g. a proxy in front of the server: worth trying again later
        raise ServerError(status, f"{_what(response)} {problem}", {}, request_id)
    raise _unexpected(response, problem)


def _what(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url}"


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
    return ScorecastError(
        f"the answer to {_what(response)} {problem}; is the endpoint a scorecast API root "
        "(…/api/v2)?"
    )


def _unreachable(settings: ClientSettings, exc: httpx.TransportError) -> ScorecastError:
    """The error of a request that got no answer. A request httpx refused to send
    (``LocalProtocolError``: a header or a body it cannot frame) is no reason to call the
    server unreachable, and its text may quote a header: it is never shown."""
    if isinstance(exc, httpx.LocalProtocolError):
        return ScorecastError(
            f"the request to {settings.endpoint} could not be sent (a header or the body is "
            "malformed)"
        )
    reason = str(exc).replace(settings.token, "***")  # no header is quoted; this is a safeguard
    return TransportError(
        f"cannot reach the scorecast API at {settings.endpoint} ({type(exc).__name__}: {reason})"
    )


def _bounded(timeout: httpx.Timeout | float | None, until: float | None) -> httpx.Timeout:
    """The timeout of one try ending by ``until`` (``time.monotonic()``), at least
    ``MIN_TRY_TIMEOUT``; ``timeout`` itself when there is no ``until``."""
    base = httpx.Timeout(timeout)
    if until is None:
        return base
    left = max(MIN_TRY_TIMEOUT, until - time.monotonic())
    return httpx.Timeout(
        connect=_least(base.connect, left),
        read=_least(base.read, left),
        write=_least(base.write, left),
        pool=_least(base.pool, left),
    )


def _least(configured: float | None, left: float) -> float:
    return left if configured is None else min(configured, left)


def _again(
    policy: RetryPolicy, method: str, retry: int, failure: httpx.TransportError | int
) -> bool:
    """Whether try ``retry + 2`` may follow a failure (no answer, or an answer's status); a
    request httpx refused to send (``LocalProtocolError``) would be refused again."""
    if isinstance(failure, httpx.LocalProtocolError):
        return False
    status_code = failure if isinstance(failure, int) else None
    return retry + 1 < policy.attempts and may_retry(method, status_code)


def _fits(until: float | None, delay: float) -> bool:
    """Whether a retry after ``delay`` seconds starts before ``until``."""
    return until is None or time.monotonic() + delay < until


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

    def request(
        self, method: str, url: str, *, until: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The answer of a 2xx; raises APIError, TransportError or ScorecastError otherwise
        (see ``raise_for_answer``).

        ``until`` (a ``time.monotonic()``) bounds the request, retries included: each try's
        timeout is cut to the time left, and no retry starts after it.
        """
        timeout = kwargs.pop("timeout", DEFAULT_TIMEOUT)
        retry = 0
        while True:
            try:
                response = self._http.request(
                    method, url, timeout=_bounded(timeout, until), **kwargs
                )
            except httpx.TransportError as exc:
                delay = self.retry.delay(retry + 1)
                if not _again(self.retry, method, retry, exc) or not _fits(until, delay):
                    raise _unreachable(self.settings, exc) from None
                retry += 1
                self._sleep(delay)
                continue
            if _again(self.retry, method, retry, response.status_code):
                after = parse_retry_after(response.headers.get("Retry-After"))
                delay = self.retry.delay(retry + 1, after)
                if _fits(until, delay):
                    retry += 1
                    self._sleep(delay)
                    continue
            raise_for_answer(response)
            return response

    def json(
        self, method: str, url: str, *, keys: tuple[str, ...] | None = None, **kwargs: Any
    ) -> Any:
        """The JSON answer (see ``read_answer`` for ``keys``)."""
        return read_answer(self.request(method, url, **kwargs), keys)

    def call(self, call: Call[T], *, until: float | None = None) -> T:
        """Sends a request description; its answer (None for one without a body)."""
        response = self.request(
            call.method, call.url, until=until, params=call.params, json=call.body
        )
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

    async def request(
        self, method: str, url: str, *, until: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        """``SyncTransport.request``, awaited."""
        timeout = kwargs.pop("timeout", DEFAULT_TIMEOUT)
        retry = 0
        while True:
            try:
                response = await self._http.request(
                    method, url, timeout=_bounded(timeout, until), **kwargs
                )
            except httpx.TransportError as exc:
                delay = self.retry.delay(retry + 1)
                if not _again(self.retry, method, retry, exc) or not _fits(until, delay):
                    raise _unreachable(self.settings, exc) from None
                retry += 1
                await asyncio.sleep(delay)
                continue
            if _again(self.retry, method, retry, response.status_code):
                after = parse_retry_after(response.headers.get("Retry-After"))
                delay = self.retry.delay(retry + 1, after)
                if _fits(until, delay):
                    retry += 1
                    await asyncio.sleep(delay)
                    continue
            raise_for_answer(response)
            return response

    async def json(
        self, method: str, url: str, *, keys: tuple[str, ...] | None = None, **kwargs: Any
    ) -> Any:
        return read_answer(await self.request(method, url, **kwargs), keys)

    async def call(self, call: Call[T], *, until: float | None = None) -> T:
        response = await self.request(
            call.method, call.url, until=until, params=call.params, json=call.body
        )
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
