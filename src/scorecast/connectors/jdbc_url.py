"""From a data store's address to a SQLAlchemy URL with our drivers, checked for safety.

Data store ``params`` hold ``jdbcUrl`` (``jdbc:postgresql://host:5432/db``,
``jdbc:mysql://…``, ``jdbc:mariadb://…``, ``jdbc:sqlite:/path``) or a SQLAlchemy URL in
``sqlalchemyUrl`` / ``url`` (``postgresql://…``, ``mysql://…``, ``mariadb://…``,
``sqlite:///…``). PostgreSQL always uses psycopg, MySQL/MariaDB pymysql. The user and password
come from the ``basic`` credential (``user``/``password``); a password inside the address is
refused so that it never sits unencrypted in a data store. SQLite needs
``SCORECAST_ALLOW_LOCAL_DATABASES=1``; network hosts pass ``safety.check_host`` (and DNS
resolution when connecting).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import URL
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from scorecast.config import Settings
from scorecast.connectors.safety import UnsafeLocationError, check_host

#: Query parameters passed on to the driver (everything else in a JDBC URL is dropped).
_KEPT_PARAMETERS = {
    "postgresql+psycopg": {"sslmode", "application_name", "connect_timeout"},
    "mysql+pymysql": {"charset"},
}
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "sqlite": "sqlite",
}


def _address(params: Mapping[str, Any]) -> str:
    for key in ("jdbcUrl", "sqlalchemyUrl", "url"):
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise UnsafeLocationError("the data store has no jdbcUrl")


def _from_jdbc(text: str) -> URL:
    rest = text[len("jdbc:") :]
    kind, _, tail = rest.partition(":")
    kind = kind.lower()
    if kind not in _DRIVERS:
        raise UnsafeLocationError(
            f"jdbc:{kind} databases are not supported; use PostgreSQL, MySQL, MariaDB"
            " (or SQLite when allowed)"
        )
    driver = _DRIVERS[kind]
    if driver == "sqlite":
        path = tail[2:] if tail.startswith("//") else tail
        return URL.create("sqlite", database=path or None)
    parts = urlsplit(f"x:{tail}")
    if parts.username or parts.password:
        raise UnsafeLocationError("must not contain a user or password (use a basic credential)")
    query = {key: value for key, value in parse_qsl(parts.query)}
    if {"password", "user"} & set(query):
        raise UnsafeLocationError("must not contain a user or password (use a basic credential)")
    kept = {key: value for key, value in query.items() if key in _KEPT_PARAMETERS[driver]}
    return URL.create(
        driver,
        host=parts.hostname,
        port=parts.port,
        database=parts.path.lstrip("/") or None,
        query=kept,
    )


def database_url(
    params: Mapping[str, Any], credential: Mapping[str, Any] | None, settings: Settings
) -> URL:
    """The SQLAlchemy URL to connect to; ``UnsafeLocationError`` says what is wrong with it.

    Pure: the host is checked as written; DNS is checked by ``jdbc`` when connecting.
    """
    text = _address(params)
    try:
        if text.lower().startswith("jdbc:"):
            url = _from_jdbc(text)
        else:
            url = make_url(text)
            if url.password:
                raise UnsafeLocationError("must not contain a password (use a basic credential)")
            backend = url.get_backend_name()
            if backend not in _DRIVERS:
                raise UnsafeLocationError(f"{backend} databases are not supported")
            url = url.set(drivername=_DRIVERS[backend])
    except (ArgumentError, ValueError) as exc:
        if isinstance(exc, UnsafeLocationError):
            raise
        raise UnsafeLocationError(f"is not a database address ({type(exc).__name__})") from exc
    if url.drivername == "sqlite":
        if not settings.allow_local_databases:
            raise UnsafeLocationError(
                "SQLite databases are allowed only when SCORECAST_ALLOW_LOCAL_DATABASES=1"
            )
        if not url.database or url.database == ":memory:":
            raise UnsafeLocationError("a SQLite data store needs a file path")
        return url
    check_host(url.host, allow_private=settings.allow_private_endpoints)
    if not url.database:
        raise UnsafeLocationError("must name a database")
    if credential is not None:
        user = credential.get("user") or credential.get("username")
        url = url.set(username=user or None, password=credential.get("password") or None)
    return url


def describe_url(url: URL) -> str:
    """Where a database is, for messages: ``postgresql 127.0.0.1:5432/test`` (no user)."""
    if url.drivername == "sqlite":
        return f"sqlite {url.database}"
    port = f":{url.port}" if url.port else ""
    return f"{url.get_backend_name()} {url.host}{port}/{url.database}"
