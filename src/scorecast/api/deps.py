"""Request-scoped dependencies: the database session and the settings.

``session`` is the session of the request's unit of work (``api/transactions.py``): one
transaction per request, committed when the handler returns (before the response is sent, so a
client that reads right after a 2xx sees the change) and rolled back when the handler raises.
On SQLite a read-only request (``GET``) reads beside writers; any other takes the write lock.
Service functions only flush.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scorecast.api.transactions import request_unit
from scorecast.config import Settings


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings(request: Request) -> Settings:
    """The settings the app was created with."""
    value: Settings = request.app.state.settings
    return value


async def session(request: Request) -> Session:
    """The request's session (one transaction, committed before the response is sent).

    ``async``: making it does no I/O (its transaction begins with its first statement), and a
    plain dependency would cost a hop to the thread pool on every request."""
    return request_unit(request).session()


SessionDep = Annotated[Session, Depends(session)]


async def _settings_dependency(request: Request) -> Settings:
    return settings(request)  # ``async``: a plain dependency would cost a thread-pool hop


SettingsDep = Annotated[Settings, Depends(_settings_dependency)]
