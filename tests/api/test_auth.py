"""Authentication through a real server: Token and Bearer schemes, 401 JSON otherwise, hashed
tokens, and the datarobot client's bootstrap."""

from __future__ import annotations

import hashlib

import datarobot as dr
import httpx
import pytest
from sqlalchemy import select

from live_api import LiveServer
from scorecast.service import accounts
from scorecast.store.db import session_scope
from scorecast.store.models import ApiToken, Organization, User


def test_version_needs_a_token(live_server: LiveServer) -> None:
    for headers in ({}, {"Authorization": "Token wrong"}):
        refused = httpx.get(f"{live_server.url}/version/", headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/json"
        assert "versionString" not in refused.text
    response = httpx.get(f"{live_server.url}/version/", headers=live_server.headers())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["versionString"] == "2.49.0"


def test_a_wrong_token_fails_when_the_client_is_made(live_server: LiveServer) -> None:
    """``dr.Client`` GETs ``version/`` once; a 401 there is its "unable to authenticate"."""
    with pytest.raises(dr.errors.ClientError, match="Unable to authenticate") as refused:
        dr.Client(endpoint=live_server.url, token="wrong")
    assert refused.value.status_code == 401


def test_token_and_bearer_schemes_are_accepted(live_server: LiveServer) -> None:
    for scheme in ["Token", "Bearer", "token", "bearer"]:
        response = httpx.get(
            f"{live_server.url}/credentials/",
            headers={"Authorization": f"{scheme} {live_server.token}"},
        )
        assert response.status_code == 200, (scheme, response.text)


BAD_HEADERS = [None, "", "Token", "Basic dXNlcjpwdw==", "Token not-a-real-token", "Bearer x y"]


def test_missing_or_bad_tokens_get_401_json(live_server: LiveServer) -> None:
    for header in BAD_HEADERS:
        headers = {} if header is None else {"Authorization": header}
        for method, path in [("GET", "credentials/"), ("POST", "credentials/")]:
            response = httpx.request(method, f"{live_server.url}/{path}", headers=headers)
            assert response.status_code == 401, (header, method, response.text)
            assert response.headers["content-type"] == "application/json"
            body = response.json()
            assert body["message"]
            assert body["errors"] == {}


def test_revoked_token_is_refused(live_server: LiveServer) -> None:
    token = live_server.token_for("org-r", "rita")
    url = f"{live_server.url}/credentials/"
    assert httpx.get(url, headers=live_server.headers(token)).status_code == 200
    with session_scope(live_server.engine) as session:
        assert accounts.revoke_tokens(session, "org-r", "rita") == 1
    assert httpx.get(url, headers=live_server.headers(token)).status_code == 401


def test_tokens_are_stored_hashed(live_server: LiveServer) -> None:
    with session_scope(live_server.engine) as session:
        hashes = session.scalars(select(ApiToken.token_hash)).all()
    assert live_server.token not in hashes
    assert hashlib.sha256(live_server.token.encode()).hexdigest() in hashes


def test_create_token_reuses_org_and_user(live_server: LiveServer) -> None:
    first = live_server.token_for("org-b", "bob")
    second = live_server.token_for("org-b", "bob")
    assert first != second
    with session_scope(live_server.engine) as session:
        orgs = session.scalars(select(Organization).where(Organization.name == "org-b")).all()
        assert len(orgs) == 1
        users = session.scalars(select(User).where(User.org_id == orgs[0].id)).all()
        assert [user.username for user in users] == ["bob"]
        assert accounts.authenticate(session, first).user_id == users[0].id
        assert accounts.authenticate(session, second).org_id == orgs[0].id


def test_datarobot_client_connects(live_server: LiveServer) -> None:
    client = dr.Client(endpoint=live_server.url, token=live_server.token)
    assert client.get("version/").json()["versionString"] == "2.49.0"


def test_datarobot_client_with_bearer(live_server: LiveServer) -> None:
    client = dr.Client(endpoint=live_server.url, token=live_server.token, token_type="Bearer")
    assert client.get("credentials/").status_code == 200
