"""Request-scoped dependencies: the database session and the settings.

``session`` is one transaction per request: it commits when the handler returns (before the
response is sent, so a client that reads right after a 2xx sees the change) and rolls back
when the handler raises. Service functions only flush.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scorecast.config import Settings


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings(request: Request) -> Settings:
    """The settings the app was created with."""
    value: Settings = request.app.state.settings
    return value


def _transaction(request: Request) -> Iterator[Session]:
    session = Session(bind=engine_of(request), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# ``scope="function"``: the transaction ends when the handler returns, before the response is
# sent, whatever scope the route declares for ``session`` itself.
def session(db: Annotated[Session, Depends(_transaction, scope="function")]) -> Session:
    """The request's session (one transaction, committed before the response is sent)."""
    return db


SessionDep = Annotated[Session, Depends(session)]
SettingsDep = Annotated[Settings, Depends(settings)]
