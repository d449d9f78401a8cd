"""Whatever JSON a caller sends to the create/update routes, the answer is a success or a 4xx
JSON error, never a 5xx (the datarobot client retries those, POST included)."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from live_api import LiveServer

KEYS = [
    "name",
    "credentialType",
    "description",
    "user",
    "password",
    "awsAccessKeyId",
    "awsSecretAccessKey",
    "awsSessionToken",
    "azureConnectionString",
    "gcpKey",
    "configId",
    "type",
    "canonicalName",
    "params",
    "jdbcUrl",
    "label",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["basic", "s3", "azure", "gcp", "jdbc", "jdbc:postgresql://h.example/db"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
bodies = st.dictionaries(st.sampled_from(KEYS), values, max_size=6) | values


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, route=st.sampled_from(["credentials/", "externalDataStores/"]))
def test_create_routes_answer_4xx_for_any_json(
    live_server: LiveServer, body: object, route: str
) -> None:
    response = httpx.post(f"{live_server.url}/{route}", json=body, headers=live_server.headers())
    assert response.status_code in (201, 404, 409, 422), response.text
    assert response.headers["content-type"] == "application/json"


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_patch_credential_answers_4xx_for_any_json(live_server: LiveServer, body: object) -> None:
    headers = live_server.headers()
    created = httpx.post(
        f"{live_server.url}/credentials/",
        json={"name": "c", "credentialType": "basic", "user": "u", "password": "p"},
        headers=headers,
    ).json()
    response = httpx.patch(
        f"{live_server.url}/credentials/{created['credentialId']}/", json=body, headers=headers
    )
    assert response.status_code in (200, 422), response.text


def test_non_finite_numbers_are_refused(live_server: LiveServer) -> None:
    """Python's JSON parser accepts NaN/Infinity; the store must not keep them (PostgreSQL
    refuses them, and answering them back would not be JSON)."""
    headers = {**live_server.headers(), "Content-Type": "application/json"}
    bodies = [
        (
            "externalDataStores/",
            '{"type": "jdbc", "canonicalName": "x",'
            ' "params": {"jdbcUrl": "jdbc:postgresql://h.example/db", "n": Infinity}}',
        ),
        ("credentials/", '{"name": "g", "credentialType": "gcp", "gcpKey": {"n": NaN}}'),
    ]
    for route, content in bodies:
        response = httpx.post(f"{live_server.url}/{route}", content=content, headers=headers)
        assert response.status_code == 422, response.text
