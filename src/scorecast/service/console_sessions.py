"""Console sign-ins kept in the store (``console_sessions``), so that signing out ends one.

A sign-in checks the API token and adds a row, whose id the console's sealed cookie carries
beside the token (``web/session.py``); every console request checks both: the token as the API
does (revoked or deleted: refused) and the row (deleted by signing out, or past its
``expires``: refused). Each sign-in also deletes the rows that have expired, so the table holds
only the sessions that may still be used.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import Engine, delete, exists, select

from scorecast.errors import AuthenticationFailed
from scorecast.service.accounts import (
    authenticate_reading,
    hash_token,
    identify,
    touch_token,
)
from scorecast.service.caller import Caller
from scorecast.store.db import session_scope
from scorecast.store.models import ApiToken, ConsoleSession
from scorecast.store.types import utcnow

ENDED = "this console session has ended: sign in again"


def sign_in(engine: Engine, token: str, lasts: timedelta) -> tuple[Caller, str]:
    """The caller of ``token`` and the id of a new session of it lasting ``lasts``;
    AuthenticationFailed for a token the API would refuse."""
    caller = authenticate_reading(engine, token)
    now = utcnow()
    session_id = secrets.token_urlsafe(24)
    with session_scope(engine, immediate=True) as session:
        token_id = session.scalar(
            select(ApiToken.id).where(ApiToken.token_hash == hash_token(token), ~ApiToken.revoked)
        )
        if token_id is None:  # revoked between the check and now
            raise AuthenticationFailed("the API token is not valid")
        session.execute(delete(ConsoleSession).where(ConsoleSession.expires <= now))
        session.add(
            ConsoleSession(id=session_id, token_id=token_id, created=now, expires=now + lasts)
        )
    return caller, session_id


def signed_in(engine: Engine, token: str, session_id: str) -> Caller:
    """The caller of a console request: ``token`` as the API checks it, and its session
    ``session_id`` still open; AuthenticationFailed otherwise. Both read in one transaction;
    the token's ``last_used`` note, when due, is a short write of its own (as
    ``accounts.authenticate_reading``)."""
    with session_scope(engine, deferred=True) as session:
        caller, stale = identify(session, token)
        is_open = session.scalar(
            select(
                exists().where(
                    ConsoleSession.id == session_id,
                    ConsoleSession.expires > utcnow(),
                    ConsoleSession.token_id == ApiToken.id,
                    ApiToken.token_hash == hash_token(token),
                )
            )
        )
    if not is_open:
        raise AuthenticationFailed(ENDED)
    if stale is not None:
        with session_scope(engine, immediate=True) as session:
            touch_token(session, stale)
    return caller


def sign_out(engine: Engine, session_id: str) -> None:
    """End the session ``session_id`` (nothing when it has already ended)."""
    with session_scope(engine, immediate=True) as session:
        session.execute(delete(ConsoleSession).where(ConsoleSession.id == session_id))
