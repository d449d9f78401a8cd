"""Organizations, users and API tokens.

A token is shown once, when it is created; the store keeps only its SHA-256 hash, so a leaked
database does not leak working tokens. Functions flush and never commit: the caller owns the
transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scorecast.errors import AuthenticationFailed, InvalidInput
from scorecast.service.caller import Caller
from scorecast.store.db import session_scope
from scorecast.store.models import ApiToken, Organization, User
from scorecast.store.types import utcnow

#: ``last_used`` is written at most this often per token (a write per request would serialize
#: every API call on SQLite's single writer).
LAST_USED_RESOLUTION = timedelta(minutes=1)

_MAX_NAME = 200


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256, hex (64 characters)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def ensure_organization(session: Session, name: str) -> Organization:
    """The organization called ``name``, created when missing."""
    name = _checked_name("org", name)
    existing = session.scalar(select(Organization).where(Organization.name == name))
    if existing is not None:
        return existing
    organization = Organization(name=name, created=utcnow())
    if _insert(session, organization):
        return organization
    found = session.scalar(select(Organization).where(Organization.name == name))
    assert found is not None, "organization vanished after a concurrent insert"
    return found


def ensure_user(
    session: Session,
    organization: Organization,
    username: str,
    *,
    full_name: str | None = None,
    is_admin: bool = False,
) -> User:
    """The user ``username`` of ``organization``, created when missing (existing users keep
    their name and admin flag)."""
    username = _checked_name("user", username)
    query = select(User).where(User.org_id == organization.id, User.username == username)
    existing = session.scalar(query)
    if existing is not None:
        return existing
    user = User(
        org_id=organization.id,
        username=username,
        full_name=full_name,
        is_admin=is_admin,
        created=utcnow(),
    )
    if _insert(session, user):
        return user
    found = session.scalar(query)
    assert found is not None, "user vanished after a concurrent insert"
    return found


def issue_token(session: Session, user: User) -> str:
    """A new token for ``user``; returns the clear token (its hash is stored)."""
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created=utcnow()))
    session.flush()
    return token


def create_token(
    session: Session,
    org_name: str,
    username: str,
    *,
    full_name: str | None = None,
    is_admin: bool = False,
) -> str:
    """A new API token for ``username`` in ``org_name``, creating both when missing.

    Returns the clear token, which is not stored anywhere (only its SHA-256 hash).
    """
    organization = ensure_organization(session, org_name)
    user = ensure_user(session, organization, username, full_name=full_name, is_admin=is_admin)
    return issue_token(session, user)


def has_organizations(session: Session) -> bool:
    """Whether the store has any organization yet (first start bootstraps one when not)."""
    return session.scalar(select(Organization.id).limit(1)) is not None


def first_admin(session: Session) -> Caller | None:
    """The store's first admin user as a caller (what ``serve --demo`` acts as), if any."""
    user = session.scalar(
        select(User).where(User.is_admin.is_(True)).order_by(User.created, User.id).limit(1)
    )
    if user is None:
        return None
    return caller_of(user)


def caller_of(user: User, org_id: str | None = None) -> Caller:
    """``user`` as a caller, limited to ``org_id`` (the organization of what the user acts
    on: a scheduled run, a backfill) or else to the user's own."""
    return Caller(
        org_id=org_id or user.org_id,
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        is_admin=user.is_admin,
    )


def authenticate(session: Session, token: str) -> Caller:
    """The caller a token belongs to; AuthenticationFailed for unknown or revoked tokens.

    Also notes the token's ``last_used`` (a write, at most once per ``LAST_USED_RESOLUTION``).
    """
    caller, stale = identify(session, token)
    if stale is not None:
        touch_token(session, stale)
    return caller


#: The token check's query. Columns, not ORM objects: every API request runs this, and loading
#: two mapped objects cost several times the query itself; made once, with the hash as a
#: parameter: building the statement and its cache key per request cost a fifth of the check.
_IDENTIFY = (
    select(
        ApiToken.id,
        ApiToken.revoked,
        ApiToken.last_used,
        User.id,
        User.org_id,
        User.username,
        User.full_name,
        User.is_admin,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def identify(session: Session, token: str) -> tuple[Caller, str | None]:
    """The caller a token belongs to, and the token's id when its ``last_used`` is due for an
    update (see ``touch_token``), else None. Reads only; AuthenticationFailed as above."""
    if not token:
        raise AuthenticationFailed("an API token is required")
    row = session.execute(_IDENTIFY, {"token_hash": hash_token(token)}).first()
    if row is None or row[1]:
        raise AuthenticationFailed("the API token is not valid")
    token_id, _, last_used, user_id, org_id, username, full_name, is_admin = row
    stale = last_used is None or utcnow() - last_used >= LAST_USED_RESOLUTION
    caller = Caller(
        org_id=org_id,
        user_id=user_id,
        username=username,
        full_name=full_name,
        is_admin=is_admin,
    )
    return caller, token_id if stale else None


def authenticate_reading(engine: Engine, token: str) -> Caller:
    """``authenticate`` in transactions of its own: the lookup reads beside any writer (SQLite's
    deferred transaction), the ``last_used`` note, when due, is a short write of its own."""
    with session_scope(engine, deferred=True) as session:
        caller, stale = identify(session, token)
    if stale is not None:
        with session_scope(engine, immediate=True) as session:
            touch_token(session, stale)
    return caller


def touch_token(session: Session, token_id: str) -> None:
    """Set a token's ``last_used`` to now (one UPDATE; flushes)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used=utcnow()))
    session.flush()


def revoke_tokens(session: Session, org_name: str, username: str) -> int:
    """Revoke every token of a user; returns how many were revoked."""
    tokens = session.scalars(
        select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .join(Organization, Organization.id == User.org_id)
        .where(Organization.name == org_name, User.username == username, ~ApiToken.revoked)
    ).all()
    for api_token in tokens:
        api_token.revoked = True
    session.flush()
    return len(tokens)


def _checked_name(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput.at(field, "must not be empty")
    if len(value) > _MAX_NAME:
        raise InvalidInput.at(field, f"must be at most {_MAX_NAME} characters")
    return value


def _insert(session: Session, row: Organization | User) -> bool:
    """Insert ``row`` in a savepoint; False when a concurrent transaction inserted it first."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True
