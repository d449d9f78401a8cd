"""A SQLAlchemy engine for a data store, after every check a connection must pass.

``data_store_engine(params, credential, settings)`` is the one way scorecast reaches a database
named by a data store, for the ``jdbc`` connector and for the data store calls (``test/``,
``schemas/``, ``tables/``) alike: the address is checked as written (``database_url``), its host
name is resolved and every answer must be public unless ``SCORECAST_ALLOW_PRIVATE_ENDPOINTS``
is set, and the connection goes to the checked address (``_pinned``), so a second DNS answer
cannot differ. The driver's extra is required last, with a message naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from scorecast.config import Settings
from scorecast.connectors.jdbc_url import database_url, describe_url
from scorecast.connectors.safety import pinned_address
from scorecast.errors import require_extra

_DRIVER_EXTRAS = {"postgresql": ("psycopg", "postgres"), "mysql": ("pymysql", "mysql")}


def data_store_engine(
    params: Mapping[str, Any],
    credential: Mapping[str, Any] | None,
    settings: Settings,
    *,
    connect_timeout: int | None = None,
) -> tuple[sa.Engine, str]:
    """An engine (no pool) for the data store's database, and where it is for messages.

    ``credential`` holds ``user``/``password`` (a ``basic`` credential). ``connect_timeout`` is
    in seconds (None: the driver's default). Raises ``UnsafeLocationError`` for an address
    this server may not reach, ``MissingExtra`` when the driver is not installed.
    """
    url = database_url(params, credential, settings)
    where = describe_url(url)
    connect_args: dict[str, Any] = {}
    backend = url.get_backend_name()
    if url.drivername != "sqlite":
        address = pinned_address(url.host, url.port, allow_private=settings.allow_private_endpoints)
        if address is not None:
            url = _pinned(url, address)
        if connect_timeout is not None:
            connect_args["connect_timeout"] = connect_timeout
    if backend in _DRIVER_EXTRAS:
        require_extra(*_DRIVER_EXTRAS[backend])
    return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args), where


def _pinned(url: sa.URL, address: str) -> sa.URL:
    """Connect to the address that was checked, not to a second DNS answer.

    PostgreSQL keeps ``host`` (TLS verification, messages) and gets ``hostaddr``; pymysql
    connects to the address itself.
    """
    if url.get_backend_name() == "postgresql":
        return url.update_query_dict({"hostaddr": address})
    return url.set(host=address)
