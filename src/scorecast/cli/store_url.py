"""The store's URL checked at start, by connecting once before anything is migrated or served.

An option or value of ``SCORECAST_DATABASE_URL`` that the driver refuses when it connects
(``?connect_timeout=x``, an option psycopg does not know, ``?sslmode=bogus``, ``?timeout=x`` of
a SQLite file) is the caller's mistake: ``InvalidInput`` naming the variable (exit 2), never
the URL and never its password. A store that cannot be reached or read raises as before
(exit 1, ``cli.main``).
"""

from __future__ import annotations

from scorecast.errors import InvalidInput

#: how psycopg words libpq's refusal of an option's value, made before it connects
_LIBPQ_REFUSED = "connection is bad: invalid "


def check_store_url(url: str) -> None:
    """Connect to the store at ``url`` once (the connection is closed again); ``InvalidInput``
    when the driver refuses the URL's options or values."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.pool import NullPool

    from scorecast.store.db import create_engine_for

    try:
        engine = create_engine_for(url, poolclass=NullPool)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except sa_exc.ProgrammingError as exc:
        # psycopg's word for connection options it refuses; a statement's error is not that
        if exc.statement is not None:
            raise
        raise _refused(url, exc.orig or exc) from None
    except sa_exc.OperationalError as exc:
        # libpq checks option values (sslmode, port, ...) before it connects; psycopg says
        # "connection is bad: invalid sslmode value: ..." for those alone
        if exc.statement is not None or not str(exc.orig).startswith(_LIBPQ_REFUSED):
            raise
        raise _refused(url, exc.orig or exc) from None
    except (ValueError, TypeError) as exc:  # a driver option's value it cannot convert
        raise _refused(url, exc) from None


def _refused(url: str, cause: BaseException) -> InvalidInput:
    from sqlalchemy import make_url

    text = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    password = make_url(url).password
    if password:
        text = text.replace(str(password), "***")
    return InvalidInput(
        f"SCORECAST_DATABASE_URL: the database driver refuses its options: {text}",
        {"SCORECAST_DATABASE_URL": "an option the driver refuses"},
    )
