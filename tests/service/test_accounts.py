"""Organizations, users and tokens on both stores."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from sqlalchemy import Engine, select

from scorecast.config import Settings
from scorecast.errors import AuthenticationFailed, InvalidInput
from scorecast.service import accounts
from scorecast.store.db import create_engine_for, session_scope
from scorecast.store.models import ApiToken, Organization, User


def test_tokens_are_hashed_and_authenticate(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert not accounts.has_organizations(session)
        token = accounts.create_token(session, "acme", "ann", full_name="Ann A", is_admin=True)
        assert accounts.has_organizations(session)
    with session_scope(engine) as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
        assert stored == [hashlib.sha256(token.encode()).hexdigest()]
        caller = accounts.authenticate(session, token)
        user = session.scalars(select(User)).one()
        org = session.scalars(select(Organization)).one()
    assert (caller.user_id, caller.org_id, caller.username) == (user.id, org.id, "ann")
    assert (caller.full_name, caller.is_admin) == ("Ann A", True)


def test_unknown_empty_and_revoked_tokens_fail(engine: Engine) -> None:
    with session_scope(engine) as session:
        token = accounts.create_token(session, "acme", "ann")
    with session_scope(engine) as session:
        for bad in ("", "x", token + "x", token.upper()):
            with pytest.raises(AuthenticationFailed):
                accounts.authenticate(session, bad)
        assert accounts.revoke_tokens(session, "acme", "ann") == 1
    with session_scope(engine) as session, pytest.raises(AuthenticationFailed):
        accounts.authenticate(session, token)


def test_orgs_and_users_are_reused_and_separate(engine: Engine) -> None:
    with session_scope(engine) as session:
        accounts.create_token(session, "a", "sam")
        accounts.create_token(session, "a", "sam")
        accounts.create_token(session, "b", "sam")
    with session_scope(engine) as session:
        assert sorted(session.scalars(select(Organization.name)).all()) == ["a", "b"]
        assert session.scalars(select(User.username)).all() == ["sam", "sam"]
        assert len(session.scalars(select(ApiToken)).all()) == 3


def test_names_are_checked(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(InvalidInput):
            accounts.create_token(session, " ", "ann")
        with pytest.raises(InvalidInput):
            accounts.create_token(session, "acme", "x" * 201)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_cli_token_create_works_before_the_first_serve(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = settings.home / "never-served.db"
    monkeypatch.setenv("SCORECAST_DATABASE_URL", f"sqlite:///{fresh}")
    result = subprocess.run(
        [sys.executable, "-m", "scorecast", "token", "create", "--org", "acme", "--user", "ann"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    engine = create_engine_for(f"sqlite:///{fresh}")
    try:
        with session_scope(engine) as session:
            assert accounts.authenticate(session, token).username == "ann"
    finally:
        engine.dispose()
