"""Organizations are isolated: with organization B's token, none of organization A's
credentials, data stores, datasets or deployments can be read, listed, changed or deleted —
each answers 404 exactly like an unknown id, and A's objects stay unchanged."""

from __future__ import annotations

from pathlib import Path

import httpx

from live_api import LiveServer


def _create_objects_of_a(live_server: LiveServer, model: Path) -> dict[str, str]:
    headers = live_server.headers()
    url = live_server.url
    credential = httpx.post(
        f"{url}/credentials/",
        json={"name": "a-cred", "credentialType": "basic", "user": "u", "password": "p"},
        headers=headers,
    ).json()["credentialId"]
    store = httpx.post(
        f"{url}/externalDataStores/",
        json={
            "type": "jdbc",
            "canonicalName": "a-db",
            "params": {"jdbcUrl": "jdbc:postgresql://db.example.com/a"},
        },
        headers=headers,
    ).json()["id"]
    dataset = httpx.post(
        f"{url}/datasets/fromFile/", files={"file": ("a.csv", b"x\n1\n")}, headers=headers
    ).json()["catalogId"]
    with model.open("rb") as handle:
        deployment = httpx.post(
            f"{url}/deployments/fromModelFile/",
            files={"file": (model.name, handle)},
            data={"targetName": "label", "targetType": "binary", "positiveClass": "yes"},
            headers=headers,
            timeout=60,
        ).json()["id"]
    return {
        "credentials": credential,
        "externalDataStores": store,
        "datasets": dataset,
        "deployments": deployment,
    }


PATCHES = {
    "credentials": {"name": "stolen", "password": "x"},
    "externalDataStores": {"canonicalName": "stolen"},
    "deployments": {"label": "stolen"},
}


def test_org_b_cannot_see_or_touch_org_a_objects(
    live_server: LiveServer, onnx_binary_model: Path
) -> None:
    ids = _create_objects_of_a(live_server, onnx_binary_model)
    token_b = live_server.token_for("org-b", "bob")
    b = live_server.headers(token_b)
    a = live_server.headers()
    url = live_server.url
    before = {
        kind: httpx.get(f"{url}/{kind}/{oid}/", headers=a).json() for kind, oid in ids.items()
    }

    for kind, object_id in ids.items():
        listing = httpx.get(f"{url}/{kind}/", headers=b)
        assert listing.status_code == 200
        assert listing.json()["data"] == [], kind
        assert object_id not in listing.text
        assert httpx.get(f"{url}/{kind}/{object_id}/", headers=b).status_code == 404, kind
        if kind in PATCHES:
            patched = httpx.patch(f"{url}/{kind}/{object_id}/", json=PATCHES[kind], headers=b)
            assert patched.status_code == 404, kind
        assert httpx.delete(f"{url}/{kind}/{object_id}/", headers=b).status_code == 404, kind

    dataset = ids["datasets"]
    assert httpx.get(f"{url}/datasets/{dataset}/versions/", headers=b).status_code == 404
    assert httpx.get(f"{url}/status/{dataset}/", headers=b).status_code == 404
    new_version = httpx.post(
        f"{url}/datasets/{dataset}/versions/fromFile/",
        files={"file": ("b.csv", b"x\n2\n")},
        headers=b,
    )
    assert new_version.status_code == 404

    after = {kind: httpx.get(f"{url}/{kind}/{oid}/", headers=a).json() for kind, oid in ids.items()}
    assert after == before
    # the same unknown-id answer as for an id that never existed
    unknown = httpx.get(f"{url}/credentials/{'0' * 24}/", headers=b).json()
    stolen = httpx.get(f"{url}/credentials/{ids['credentials']}/", headers=b).json()
    assert stolen["errors"] == unknown["errors"]


def test_org_b_cannot_submit_jobs_to_org_a_deployment(
    live_server: LiveServer, onnx_binary_model: Path
) -> None:
    """A job of org B naming org A's deployment is refused with 4xx, never accepted."""
    ids = _create_objects_of_a(live_server, onnx_binary_model)
    token_b = live_server.token_for("org-b", "bob")
    b = live_server.headers(token_b)
    response = httpx.post(
        f"{live_server.url}/batchPredictions/",
        json={
            "deploymentId": ids["deployments"],
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
        },
        headers=b,
    )
    assert response.status_code in (404, 422), response.text
