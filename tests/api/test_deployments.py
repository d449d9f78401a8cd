"""Deployments: register an ONNX model (API and CLI), read it with the official client,
refuse bad models, delete."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import datarobot as dr
import httpx
import pytest
from sqlalchemy import select

from live_api import LiveServer
from scorecast.predictors import prepared
from scorecast.service.secrets import signing_keys
from scorecast.store.db import session_scope
from scorecast.store.models import Deployment, JobDefinition, User

FORM = {"targetName": "label", "targetType": "binary", "positiveClass": "yes", "label": "churn"}


def _register(live_server: LiveServer, model: Path, **form: str) -> httpx.Response:
    with model.open("rb") as handle:
        return httpx.post(
            f"{live_server.url}/deployments/fromModelFile/",
            files={"file": (model.name, handle)},
            data={**FORM, **form},
            headers=live_server.headers(),
            timeout=60,
        )


def test_register_onnx_and_read_with_the_official_client(
    live_server: LiveServer, onnx_binary_model: Path
) -> None:
    response = _register(live_server, onnx_binary_model, targetType="Binary")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{live_server.url}/deployments/{body['id']}/"
    assert body["model"]["targetName"] == "label"
    assert body["model"]["targetType"] == "Binary"
    assert [f["name"] for f in body["scorecastModel"]["features"]] == ["num_a", "num_b"]
    assert body["scorecastModel"]["classLabels"] == ["no", "yes"]

    dr.Client(endpoint=live_server.url, token=live_server.token)
    deployment = dr.Deployment.get(body["id"])
    assert (deployment.id, deployment.label, deployment.status) == (body["id"], "churn", "active")
    assert deployment.model["target_name"] == "label"
    assert [d.id for d in dr.Deployment.list()] == [body["id"]]

    with session_scope(live_server.engine) as session:
        stored = session.scalars(select(Deployment)).one()
        artifact = live_server.settings.artifacts_dir / stored.artifact_path
        assert artifact.read_bytes() == onnx_binary_model.read_bytes()
        assert stored.model["format"] == "onnx"


def test_a_skops_model_is_stored_with_its_signed_prepared_form(
    live_server: LiveServer, tmp_path: Path
) -> None:
    import numpy as np
    import pandas as pd
    import skops.io
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    features = pd.DataFrame(rng.normal(size=(100, 2)), columns=["num_a", "num_b"])
    labels = np.where(features.sum(axis=1) > 0, "yes", "no")
    model = LogisticRegression().fit(features, labels)
    path = tmp_path / "churn.skops"
    skops.io.dump(model, path)
    response = _register(live_server, path)
    assert response.status_code == 201, response.text
    with session_scope(live_server.engine) as session:
        stored = session.scalars(select(Deployment)).one()
        artifact = live_server.settings.artifacts_dir / stored.artifact_path
        sha256 = stored.model["sha256"]
    assert sorted(p.name for p in artifact.parent.iterdir()) == [
        "model.skops",
        "model.skops.prepared",
    ]
    prepared.configure(signing_keys(live_server.settings))
    try:
        loaded = prepared.read(artifact, sha256)
    finally:
        prepared.configure([])
    assert loaded is not None
    np.testing.assert_array_equal(loaded.predict_proba(features), model.predict_proba(features))


def test_bad_models_are_422_and_leave_nothing(
    live_server: LiveServer, onnx_binary_model: Path, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    unknown = tmp_path / "model.bin"
    unknown.write_bytes(b"\x00\x01\x02")
    cases = [
        (garbage, {}, "file"),
        (empty, {}, "file"),
        (unknown, {}, "file"),
        (onnx_binary_model, {"targetType": "ranking"}, "targetType"),
        (onnx_binary_model, {"targetType": "regression"}, None),
        (onnx_binary_model, {"positiveClass": "maybe"}, None),
    ]
    for model, form, field in cases:
        response = _register(live_server, model, **form)
        assert response.status_code == 422, (model.name, form, response.text)
        assert response.headers["content-type"] == "application/json"
        assert str(live_server.settings.home) not in response.text
        if field:
            assert field in response.json()["errors"], response.text
    # a misspelled field, or one given twice, is refused rather than dropped
    misspelled = _register(live_server, onnx_binary_model, positive_class="no")
    assert misspelled.status_code == 422, misspelled.text
    assert "positive_class" in misspelled.json()["errors"]
    with onnx_binary_model.open("rb") as handle:
        model = handle.read()
    twice = httpx.post(
        f"{live_server.url}/deployments/fromModelFile/",
        files=[("file", ("a.onnx", model)), ("file", ("b.onnx", model))],
        data=FORM,
        headers=live_server.headers(),
        timeout=60,
    )
    assert twice.status_code == 422, twice.text
    assert twice.json()["errors"] == {"file": "is given more than once"}
    missing = httpx.post(
        f"{live_server.url}/deployments/fromModelFile/",
        data={"targetType": "binary"},
        headers=live_server.headers(),
    )
    assert missing.status_code == 422
    assert {"file", "targetName"} <= set(missing.json()["errors"])
    listing = httpx.get(f"{live_server.url}/deployments/", headers=live_server.headers())
    assert listing.json()["totalCount"] == 0
    assert not any(live_server.settings.artifacts_dir.iterdir())


def test_rename_and_delete(live_server: LiveServer, onnx_binary_model: Path) -> None:
    headers = live_server.headers()
    deployment_id = _register(live_server, onnx_binary_model).json()["id"]
    url = f"{live_server.url}/deployments/{deployment_id}/"
    renamed = httpx.patch(url, json={"label": "renamed"}, headers=headers)
    assert renamed.json()["label"] == "renamed"
    assert httpx.patch(url, json={"status": "inactive"}, headers=headers).status_code == 422

    with session_scope(live_server.engine) as session:
        deployment = session.get(Deployment, deployment_id)
        assert deployment is not None
        user = session.scalars(select(User).where(User.username == "alice")).one()
        session.add(
            JobDefinition(
                org_id=deployment.org_id,
                name="nightly",
                job_spec={"deploymentId": deployment_id},
                deployment_id=deployment_id,
                created_by=user.id,
                updated_by=user.id,
            )
        )
    conflict = httpx.delete(url, headers=headers)
    assert conflict.status_code == 409
    assert "nightly" in conflict.json()["message"]
    with session_scope(live_server.engine) as session:
        session.delete(session.scalars(select(JobDefinition)).one())
    assert httpx.delete(url, headers=headers).status_code == 204
    assert httpx.get(url, headers=headers).status_code == 404
    assert not (live_server.settings.artifacts_dir / deployment_id).exists()


@pytest.mark.e2e
def test_cli_deployment_create_prints_the_id_last(
    live_server: LiveServer, onnx_binary_model: Path
) -> None:
    env = {
        **os.environ,
        "SCORECAST_ENDPOINT": live_server.url,
        "SCORECAST_TOKEN": live_server.token,
    }
    command = [sys.executable, "-m", "scorecast"]
    args = [
        "deployment", "create", str(onnx_binary_model), "--target", "label",
        "--target-type", "binary", "--positive-class", "yes", "--label", "from cli",
    ]  # fmt: skip
    result = subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    deployment_id = result.stdout.strip().splitlines()[-1]
    got = httpx.get(
        f"{live_server.url}/deployments/{deployment_id}/", headers=live_server.headers()
    )
    assert got.json()["label"] == "from cli"

    bad = subprocess.run(
        [*command, *args[:2], str(onnx_binary_model), "--target", "label", "--target-type", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2
    assert "targetType" in bad.stderr or "target type" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.e2e
def test_cli_deployment_create_exits_as_deployments_create_does(
    live_server: LiveServer, onnx_binary_model: Path
) -> None:
    """1 when the API cannot be reached, 4 without a token or with one refused, 2 for an
    endpoint that is not a URL: the codes of docs/reference/cli.md and client-cli.md."""
    with socket.socket() as held:  # bound, never listening: connections are refused
        held.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{held.getsockname()[1]}/api/v2"
        cases = [
            ({"SCORECAST_ENDPOINT": refused, "SCORECAST_TOKEN": "t"}, 1, "cannot reach"),
            ({"SCORECAST_ENDPOINT": live_server.url, "SCORECAST_TOKEN": "wrong"}, 4, "401"),
            ({"SCORECAST_ENDPOINT": live_server.url}, 4, "SCORECAST_TOKEN"),
            (
                {"SCORECAST_ENDPOINT": "http://127.0.0.1:abc/api/v2", "SCORECAST_TOKEN": "t"},
                2,
                "SCORECAST_ENDPOINT",
            ),
        ]
        for settings, code, named in cases:
            env = {key: value for key, value in os.environ.items() if key != "SCORECAST_TOKEN"}
            result = subprocess.run(
                [sys.executable, "-m", "scorecast", "deployment", "create",
                 str(onnx_binary_model), "--target", "label", "--target-type", "binary",
                 "--positive-class", "yes"],
                env={**env, **settings},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )  # fmt: skip
            assert result.returncode == code, (settings, result.stderr)
            assert "Traceback" not in result.stderr
            last = result.stderr.strip().splitlines()[-1]
            assert last.startswith("error: ") and named in last, last
