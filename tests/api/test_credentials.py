"""Credentials through a real server and the official client: CRUD, validation, and secrets
that never leave the server (not in any response, encrypted at rest)."""

from __future__ import annotations

import datarobot as dr
import httpx
from sqlalchemy import select

from live_api import LiveServer
from scorecast.service.credentials import reveal
from scorecast.store.db import session_scope
from scorecast.store.models import Credential

SECRETS = {
    "basic": {"user": "user1", "password": "pw-Secret-1"},
    "s3": {
        "awsAccessKeyId": "AKIA-SECRET-ID",
        "awsSecretAccessKey": "aws-Secret-Key",
        "awsSessionToken": "aws-Session-Secret",
    },
    "azure": {"azureConnectionString": "DefaultEndpointsProtocol=https;AccountKey=azSecret"},
    "gcp": {"gcpKey": {"type": "service_account", "private_key": "gcp-Secret-Key"}},
}
SECRET_TEXTS = [
    "pw-Secret-1",
    "AKIA-SECRET-ID",
    "aws-Secret-Key",
    "aws-Session-Secret",
    "azSecret",
    "gcp-Secret-Key",
]


def _no_secret(text: str) -> None:
    for secret in SECRET_TEXTS:
        assert secret not in text


def test_crud_and_no_secret_in_any_response(live_server: LiveServer) -> None:
    url = f"{live_server.url}/credentials/"
    headers = live_server.headers()
    ids = {}
    for kind, fields in SECRETS.items():
        response = httpx.post(
            url, json={"name": f"my {kind}", "credentialType": kind, **fields}, headers=headers
        )
        assert response.status_code == 201, response.text
        _no_secret(response.text)
        body = response.json()
        assert set(body) >= {"credentialId", "name", "credentialType", "creationDate"}
        assert body["description"] == ""
        assert body["creationDate"].endswith("Z")
        ids[kind] = body["credentialId"]

    listing = httpx.get(url, headers=headers)
    _no_secret(listing.text)
    assert listing.json()["totalCount"] == 4
    assert {item["credentialId"] for item in listing.json()["data"]} == set(ids.values())

    one = httpx.get(f"{url}{ids['s3']}/", headers=headers)
    _no_secret(one.text)
    assert one.json()["credentialType"] == "s3"

    patched = httpx.patch(
        f"{url}{ids['basic']}/",
        json={"name": "renamed", "description": "d", "password": "pw-Secret-1"},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    _no_secret(patched.text)
    assert (patched.json()["name"], patched.json()["description"]) == ("renamed", "d")

    assert httpx.delete(f"{url}{ids['azure']}/", headers=headers).status_code == 204
    assert httpx.get(f"{url}{ids['azure']}/", headers=headers).status_code == 404
    assert httpx.get(url, headers=headers).json()["totalCount"] == 3


def test_secrets_are_encrypted_at_rest_and_revealed_to_workers(live_server: LiveServer) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    s3 = dr.Credential.create_s3(
        "s3", aws_access_key_id="AKIA-SECRET-ID", aws_secret_access_key="aws-Secret-Key"
    )
    gcp = dr.Credential.create_gcp("gcp", gcp_key=SECRETS["gcp"]["gcpKey"])
    with session_scope(live_server.engine) as session:
        for row in session.scalars(select(Credential)).all():
            for secret in SECRET_TEXTS:
                assert secret.encode() not in row.secret
        org_id = session.get(Credential, s3.credential_id).org_id  # type: ignore[union-attr]
        assert reveal(session, org_id, s3.credential_id, live_server.settings) == {
            "credentialType": "s3",
            "awsAccessKeyId": "AKIA-SECRET-ID",
            "awsSecretAccessKey": "aws-Secret-Key",
        }
        revealed = reveal(session, org_id, gcp.credential_id, live_server.settings)
        assert revealed["gcpKey"] == SECRETS["gcp"]["gcpKey"]


def test_patch_merges_secret_fields(live_server: LiveServer) -> None:
    headers = live_server.headers()
    url = f"{live_server.url}/credentials/"
    created = httpx.post(
        url,
        json={"name": "b", "credentialType": "basic", "user": "u", "password": "p1"},
        headers=headers,
    ).json()
    httpx.patch(f"{url}{created['credentialId']}/", json={"password": "p2"}, headers=headers)
    with session_scope(live_server.engine) as session:
        org_id = session.get(Credential, created["credentialId"]).org_id  # type: ignore[union-attr]
        fields = reveal(session, org_id, created["credentialId"], live_server.settings)
    assert fields == {"credentialType": "basic", "user": "u", "password": "p2"}


def test_patch_keeps_an_s3_key_pair_whole_and_null_removes_an_optional_field(
    live_server: LiveServer,
) -> None:
    """A PATCH is checked as the merged credential: one key of a pair is refused (as on
    create), ``null`` removes an optional field (the session token) and cannot remove a
    required one (a basic credential's password)."""
    headers = live_server.headers()
    url = f"{live_server.url}/credentials/"

    def create(body: dict[str, str]) -> str:
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["credentialId"])

    def stored(credential_id: str) -> dict[str, object]:
        with session_scope(live_server.engine) as session:
            found = session.get(Credential, credential_id)
            assert found is not None
            return reveal(session, found.org_id, credential_id, live_server.settings)

    keyless = create({"name": "own identity", "credentialType": "s3"})
    half = httpx.patch(f"{url}{keyless}/", json={"awsAccessKeyId": "AKIA"}, headers=headers)
    assert half.status_code == 422, half.text
    assert "awsSecretAccessKey" in half.json()["errors"]
    assert stored(keyless) == {"credentialType": "s3"}

    keyed = create(
        {
            "name": "keys",
            "credentialType": "s3",
            "awsAccessKeyId": "AKIA",
            "awsSecretAccessKey": "secret",
            "awsSessionToken": "session",
        }
    )
    cleared = httpx.patch(f"{url}{keyed}/", json={"awsSessionToken": None}, headers=headers)
    assert cleared.status_code == 200, cleared.text
    assert "awsSessionToken" not in stored(keyed)
    one_gone = httpx.patch(f"{url}{keyed}/", json={"awsSecretAccessKey": None}, headers=headers)
    assert one_gone.status_code == 422, one_gone.text
    assert stored(keyed)["awsSecretAccessKey"] == "secret"

    basic = create({"name": "db", "credentialType": "basic", "user": "u", "password": "p"})
    required = httpx.patch(f"{url}{basic}/", json={"password": None}, headers=headers)
    assert required.status_code == 422, required.text
    assert "password" in required.json()["errors"]
    assert stored(basic)["password"] == "p"


def test_official_client_create_list_get_delete(live_server: LiveServer) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    basic = dr.Credential.create_basic("db", user="user1", password="pw-Secret-1", description="d")
    s3 = dr.Credential.create_s3(
        "s3",
        aws_access_key_id="AKIA-SECRET-ID",
        aws_secret_access_key="aws-Secret-Key",
        aws_session_token="aws-Session-Secret",
    )
    azure = dr.Credential.create_azure("az", azure_connection_string="AccountKey=azSecret")
    listed = {c.credential_id: c for c in dr.Credential.list()}
    assert set(listed) == {basic.credential_id, s3.credential_id, azure.credential_id}
    assert listed[basic.credential_id].description == "d"
    fetched = dr.Credential.get(s3.credential_id)
    assert (fetched.name, fetched.credential_type) == ("s3", "s3")
    for credential in (basic, s3, azure, fetched):
        _no_secret(repr(vars(credential)))
    fetched.update(name="s3-renamed")
    assert dr.Credential.get(s3.credential_id).name == "s3-renamed"
    basic.delete()
    assert {c.credential_id for c in dr.Credential.list()} == {
        s3.credential_id,
        azure.credential_id,
    }


def test_bad_bodies_are_422_naming_the_field(live_server: LiveServer) -> None:
    url = f"{live_server.url}/credentials/"
    cases = [
        ({"name": "x"}, "credentialType"),
        ({"name": "x", "credentialType": "ftp"}, "credentialType"),
        ({"name": "x", "credentialType": "oauth", "token": "t"}, "credentialType"),
        ({"credentialType": "basic", "user": "u", "password": "p"}, "name"),
        ({"name": "x", "credentialType": "basic", "user": "u"}, "password"),
        ({"name": "x", "credentialType": "basic", "user": 3, "password": "p"}, "user"),
        ({"name": "x", "credentialType": "s3", "awsAccessKeyId": "a"}, "awsSecretAccessKey"),
        ({"name": "x", "credentialType": "s3", "configId": "c"}, "configId"),
        ({"name": "x", "credentialType": "gcp", "gcpKey": "not json"}, "gcpKey"),
        ({"name": "x", "credentialType": "basic", "user": "u", "password": "p", "pw": 1}, "pw"),
        (
            {
                "name": "x",
                "credentialType": "basic",
                "user": "u",
                "password": "p",
                "description": 5,
            },
            "description",
        ),
    ]
    for body, field in cases:
        response = httpx.post(url, json=body, headers=live_server.headers())
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/json"
        assert field in response.json()["errors"], (body, response.text)
    assert httpx.get(url, headers=live_server.headers()).json()["totalCount"] == 0


def test_a_deeply_nested_gcp_key_is_422_naming_it(live_server: LiveServer) -> None:
    url = f"{live_server.url}/credentials/"
    body = {"name": "g", "credentialType": "gcp", "gcpKey": "[" * 100_000}
    response = httpx.post(url, json=body, headers=live_server.headers(), timeout=120)
    assert response.status_code == 422, response.text
    assert "not a valid JSON key" in response.json()["errors"]["gcpKey"]
    created = httpx.post(
        url, json={**body, **SECRETS["gcp"]}, headers=live_server.headers(), timeout=120
    )
    assert created.status_code == 201, created.text
    patched = httpx.patch(
        f"{url}{created.json()['credentialId']}/",
        json={"gcpKey": "{" * 100_000},
        headers=live_server.headers(),
        timeout=120,
    )
    assert patched.status_code == 422, patched.text
    assert "gcpKey" in patched.json()["errors"]


def test_unknown_ids_are_404(live_server: LiveServer) -> None:
    url = f"{live_server.url}/credentials/5e429d6ecf8a5f36c5693e03/"
    headers = live_server.headers()
    assert httpx.get(url, headers=headers).status_code == 404
    assert httpx.patch(url, json={"name": "n"}, headers=headers).status_code == 404
    assert httpx.delete(url, headers=headers).status_code == 404


def test_pagination_next_links_are_absolute_and_complete(live_server: LiveServer) -> None:
    headers = live_server.headers()
    url = f"{live_server.url}/credentials/"
    for index in range(5):
        httpx.post(
            url,
            json={"name": f"c{index}", "credentialType": "basic", "user": "u", "password": "p"},
            headers=headers,
        )
    seen: list[str] = []
    page = httpx.get(url, params={"limit": 2}, headers=headers).json()
    while True:
        assert page["count"] == len(page["data"]) <= 2
        assert page["totalCount"] == 5
        seen += [item["credentialId"] for item in page["data"]]
        if page["next"] is None:
            break
        assert page["next"].startswith(live_server.url)
        assert "limit=2" in page["next"]
        page = httpx.get(page["next"], headers=headers).json()
        assert page["previous"].startswith(live_server.url)
    assert len(seen) == len(set(seen)) == 5


def test_an_s3_credential_without_keys_is_stored(live_server: LiveServer) -> None:
    """``Credential.create_s3()`` without keys (the server's own identity, allowed to a job
    only by SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS); half a key pair is refused."""
    dr.Client(endpoint=live_server.url, token=live_server.token)
    keyless = dr.Credential.create_s3("instance role")
    with session_scope(live_server.engine) as session:
        org_id = session.get(Credential, keyless.credential_id).org_id  # type: ignore[union-attr]
        assert reveal(session, org_id, keyless.credential_id, live_server.settings) == {
            "credentialType": "s3"
        }
    for body, field in (
        ({"name": "x", "credentialType": "s3", "awsSecretAccessKey": "s"}, "awsAccessKeyId"),
        ({"name": "x", "credentialType": "s3", "awsSessionToken": "t"}, "awsSessionToken"),
    ):
        response = httpx.post(
            f"{live_server.url}/credentials/", json=body, headers=live_server.headers()
        )
        assert response.status_code == 422, response.text
        assert field in response.json()["errors"], response.text


def test_a_key_or_token_with_a_copied_line_break_is_422_naming_it(
    live_server: LiveServer,
) -> None:
    """Keys and tokens are printable ASCII: surrounding whitespace or a control character is
    refused on create and on PATCH, naming the field and never quoting the value. A gcpKey's
    JSON may hold line breaks (its private_key does), and a password any character."""
    url = f"{live_server.url}/credentials/"
    headers = live_server.headers()
    token = "IQoJb3JpZ2luX2VjSECRETSESSIONTOKEN"
    s3 = {"name": "x", "credentialType": "s3", **SECRETS["s3"]}
    cases = [
        ({**s3, "awsSessionToken": token + "\n"}, "awsSessionToken"),
        ({**s3, "awsSessionToken": " " + token}, "awsSessionToken"),
        ({**s3, "awsAccessKeyId": token + "\r\n"}, "awsAccessKeyId"),
        ({**s3, "awsSecretAccessKey": token[:10] + "\t" + token[10:]}, "awsSecretAccessKey"),
        ({**s3, "awsSecretAccessKey": token + "\u00e9"}, "awsSecretAccessKey"),
        (
            {"name": "x", "credentialType": "azure", "azureConnectionString": token + "\n"},
            "azureConnectionString",
        ),
    ]
    for body, field in cases:
        response = httpx.post(url, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert list(response.json()["errors"]) == [field], response.text
        assert token not in response.text and token[:10] not in response.text
    keyed = httpx.post(url, json=s3, headers=headers).json()["credentialId"]
    patched = httpx.patch(f"{url}{keyed}/", json={"awsSessionToken": token + "\n"}, headers=headers)
    assert patched.status_code == 422, patched.text
    assert "awsSessionToken" in patched.json()["errors"] and token not in patched.text
    with_line_breaks = {
        "name": "g",
        "credentialType": "gcp",
        "gcpKey": '{"type": "service_account",\n "private_key": "-----BEGIN\\nKEY\\n"}\n',
    }
    assert httpx.post(url, json=with_line_breaks, headers=headers).status_code == 201
    password = {"name": "b", "credentialType": "basic", "user": "u", "password": " p\u00e9 "}
    assert httpx.post(url, json=password, headers=headers).status_code == 201
