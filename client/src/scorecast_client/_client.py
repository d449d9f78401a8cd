"""``Client``: one connection to a scorecast server, with a resource per kind of object."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from scorecast_client._backfills import Backfills
from scorecast_client._backoff import RetryPolicy
from scorecast_client._catalog import Credentials, Datasets, DataStores, Deployments
from scorecast_client._definitions import Definitions
from scorecast_client._jobs import Jobs
from scorecast_client._notifications import NotificationChannels, NotificationPolicies
from scorecast_client._settings import resolve
from scorecast_client._transport import SyncTransport


class Client:
    """A blocking client::

        with Client("http://127.0.0.1:8080/api/v2", token) as client:
            job = client.jobs.score(deployment_id, "in.csv", "out.csv")

    ``endpoint`` and ``token`` default to ``SCORECAST_ENDPOINT``/``SCORECAST_TOKEN``, then to
    the ``profile`` (or default profile) saved by ``scorecast login``. ``retry`` sets how safe
    requests are repeated on connection errors and 502/503/504; ``transport`` is an httpx
    transport to send requests through (tests, proxies).
    """

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        *,
        profile: str | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        settings = resolve(endpoint, token, profile)
        self.endpoint = settings.endpoint
        self._transport = SyncTransport(settings, retry or RetryPolicy(), transport)
        self.deployments = Deployments(self._transport)
        self.jobs = Jobs(self._transport)
        self.definitions = Definitions(self._transport, self.jobs)
        self.backfills = Backfills(self._transport)
        self.credentials = Credentials(self._transport)
        self.data_stores = DataStores(self._transport)
        self.datasets = Datasets(self._transport)
        self.notification_channels = NotificationChannels(self._transport)
        self.notification_policies = NotificationPolicies(self._transport)

    def version(self) -> dict[str, Any]:
        """``GET version/``: also the cheapest check that the endpoint and token work."""
        body: dict[str, Any] = self._transport.json("GET", "version/", keys=())
        return body

    def check(self) -> None:
        """Raises Unauthorized unless the token is accepted (one cheap authenticated request),
        and ScorecastError unless the answer is the API's (a list page of deployments)."""
        self._transport.json("GET", "deployments/", keys=("data",), params={"limit": 1})

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
