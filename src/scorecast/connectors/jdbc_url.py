"""From a data store's address to a SQLAlchemy URL with our drivers, checked for safety.

Data store ``params`` hold ``jdbcUrl`` (``jdbc:postgresql://host:5432/db``,
``jdbc:mysql://…``, ``jdbc:mariadb://…``, ``jdbc:sqlite:/path``) or a SQLAlchemy URL in
``sqlalchemyUrl`` / ``url`` (``postgresql://…``, ``mysql://…``, ``mariadb://…``,
``sqlite:///…``). PostgreSQL always uses psycopg, MySQL/MariaDB pymysql. The user and password
come from the ``basic`` credential (``user``/``password``); a password inside the address is
refused so that it never sits unencrypted in a data store. SQLite needs
``SCORECAST_ALLOW_LOCAL_DATABASES=1``; network hosts pass ``safety.check_host`` (and DNS
resolution when connecting).

The host written in the address must be the only place the driver connects to, or the host
check means nothing. So these are refused, whatever ``SCORECAST_ALLOW_PRIVATE_ENDPOINTS`` says:

- several hosts (``jdbc:postgresql://a.example.com,127.0.0.1/db``: libpq tries each in turn);
- parameters that redirect the connection (``_REDIRECTING``: ``host``, ``hostaddr``, ``port``,
  ``unix_socket``, option files, services …), in a JDBC URL and in a SQLAlchemy URL alike;
- in a SQLAlchemy URL, any parameter not in ``_KEPT_PARAMETERS`` (they reach the driver as
  keyword arguments); a JDBC URL's other parameters are dropped, as before;
- a database name with ``=`` or a URI scheme (libpq could read it as a connection string).
"""

from __future__ import annotations

import re
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
#: Parameter names that carry a user or a secret, in any case (``Password=`` is a password to
#: the drivers too; ``sslpassword``, ``trustCertificateKeyStorePassword``, ``apiToken`` ...):
#: they belong in a basic credential, encrypted, never in a data store's params, which are
#: stored as given and sent back
_SECRET_NAME = re.compile(r"pass|pwd|secret|token|private.?key|credential", re.IGNORECASE)
_USER_NAMES = frozenset({"user", "username", "uid"})


def secret_like(name: str) -> bool:
    """Whether a parameter called ``name`` would hold a user or a secret (see above)."""
    return name.lower() in _USER_NAMES or _SECRET_NAME.search(name) is not None


#: Query parameters that make a driver connect somewhere else than the checked host (libpq's
#: ``host``/``hostaddr``/``service``…, pymysql's ``unix_socket``/``read_default_file``…).
_REDIRECTING = {
    "host",
    "hostaddr",
    "port",
    "dbname",
    "service",
    "servicefile",
    "passfile",
    "options",
    "target_session_attrs",
    "load_balance_hosts",
    "unix_socket",
    "unixsocket",
    "socket",
    "socketfactory",
    "named_pipe",
    "read_default_file",
    "read_default_group",
    "bind_address",
    "init_command",
    "local_infile",
    "allowloadlocalinfile",
    "server_public_key",
    "ssl_ca",
    "ssl_cert",
    "ssl_key",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
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
    _refuse_several_hosts(parts.netloc)
    if parts.username or parts.password:
        raise UnsafeLocationError("must not contain a user or password (use a basic credential)")
    query = {key: value for key, value in parse_qsl(parts.query)}
    if any(secret_like(key) for key in query):  # stored as written, though dropped to connect
        raise UnsafeLocationError("must not contain a user or password (use a basic credential)")
    _refuse_redirecting(query)
    kept = {key: value for key, value in query.items() if key in _KEPT_PARAMETERS[driver]}
    return URL.create(
        driver,
        host=parts.hostname,
        port=parts.port,
        database=parts.path.lstrip("/") or None,
        query=kept,
    )


def _refuse_several_hosts(netloc: str) -> None:
    if "," in netloc:
        raise UnsafeLocationError(
            "names several hosts; give exactly one (every host a driver may try must be checked)"
        )


def _refuse_redirecting(query: Mapping[str, object]) -> None:
    redirecting = sorted(key for key in query if key.lower() in _REDIRECTING)
    if redirecting:
        raise UnsafeLocationError(
            f"must not contain the parameter {redirecting[0]!r}: it would make the driver "
            "connect somewhere else than the host of the address"
        )


def _from_sqlalchemy(text: str) -> URL:
    _refuse_several_hosts(urlsplit(text).netloc)
    url = make_url(text)
    # a user without a password may stay (a database that trusts it: a basic credential needs
    # a password); a password, or a query parameter holding a secret, never
    if url.password or any(secret_like(key) for key in url.query):
        raise UnsafeLocationError("must not contain a password (use a basic credential)")
    backend = url.get_backend_name()
    if backend not in _DRIVERS:
        raise UnsafeLocationError(f"{backend} databases are not supported")
    url = url.set(drivername=_DRIVERS[backend])
    if url.drivername == "sqlite":
        return url
    _refuse_redirecting(url.query)
    unknown = sorted(set(url.query) - _KEPT_PARAMETERS[url.drivername])
    if unknown:
        raise UnsafeLocationError(
            f"must not contain the parameter {unknown[0]!r} (allowed: "
            + ", ".join(sorted(_KEPT_PARAMETERS[url.drivername]))
            + ")"
        )
    return url


def _check_database_name(name: str | None) -> None:
    if name and ("=" in name or "://" in name):
        raise UnsafeLocationError(
            "the database name must not contain '=' or '://' (it would be read as connection "
            "parameters)"
        )


def database_url(
    params: Mapping[str, Any], credential: Mapping[str, Any] | None, settings: Settings
) -> URL:
    """The SQLAlchemy URL to connect to; ``UnsafeLocationError`` says what is wrong with it.

    Pure: the host is checked as written; DNS is checked by ``jdbc`` when connecting.
    """
    text = _address(params)
    try:
        jdbc = text.lower().startswith("jdbc:")
        url = _from_jdbc(text) if jdbc else _from_sqlalchemy(text)
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
    _check_database_name(url.database)
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
