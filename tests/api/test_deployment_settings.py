"""``deployments/{id}/settings/``: prediction warning settings over HTTP and through the
official client, a range at registration, bad bodies, organizations."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import datarobot as dr
import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from live_api import LiveServer


@pytest.fixture(scope="module")
def regression_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """skl2onnx's export of a LinearRegression on a ``[N, 2]`` matrix (no metadata)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(8)
    features = rng.normal(size=(100, 2)).astype(np.float32)
    model = LinearRegression().fit(features, 3 * features[:, 0] - features[:, 1])
    path = tmp_path_factory.mktemp("regression") / "regression.onnx"
    path.write_bytes(to_onnx(model, features[:1], target_opset=17).SerializeToString())
    return path


@pytest.fixture(scope="module")
def ranged_deployment(shared_live_server: LiveServer, regression_model: Path) -> str:
    """A regression deployment registered with a prediction range, on the module's shared
    server (for the tests of requests it refuses)."""
    response = _register(shared_live_server, regression_model, predictionRange="0,1")
    assert response.status_code == 201, response.text
    deployment_id: str = response.json()["id"]
    return deployment_id


def _register(live_server: LiveServer, model: Path, **form: str) -> httpx.Response:
    with model.open("rb") as handle:
        return httpx.post(
            f"{live_server.url}/deployments/fromModelFile/",
            files={"file": (model.name, handle)},
            data={"targetName": "y", "targetType": "regression", "featureNames": "a,b", **form},
            headers=live_server.headers(),
            timeout=60,
        )


def _settings_url(live_server: LiveServer, deployment_id: str) -> str:
    return f"{live_server.url}/deployments/{deployment_id}/settings/"


def _patch(live_server: LiveServer, deployment_id: str, body: Any, **kw: Any) -> httpx.Response:
    return httpx.patch(
        _settings_url(live_server, deployment_id),
        json=body,
        headers=live_server.headers(kw.get("token")),
        timeout=60,
    )


def test_a_range_at_registration_enables_warnings(
    live_server: LiveServer, regression_model: Path
) -> None:
    created = _register(live_server, regression_model, predictionRange="-2.5, 10")
    assert created.status_code == 201, created.text
    assert created.json()["scorecastModel"]["predictionRange"] == {"lower": -2.5, "upper": 10.0}
    got = httpx.get(_settings_url(live_server, created.json()["id"]), headers=live_server.headers())
    assert got.status_code == 200, got.text
    assert got.json() == {"predictionWarning": {"enabled": True, "customBoundaries": None}}


def test_settings_round_trip_over_http(live_server: LiveServer, regression_model: Path) -> None:
    created = _register(live_server, regression_model)
    deployment_id = created.json()["id"]
    assert created.json()["scorecastModel"]["predictionRange"] is None
    url = _settings_url(live_server, deployment_id)
    assert httpx.get(url, headers=live_server.headers()).json() == {
        "predictionWarning": {"enabled": False, "customBoundaries": None}
    }

    no_range = _patch(live_server, deployment_id, {"predictionWarning": {"enabled": True}})
    assert no_range.status_code == 422, no_range.text
    assert "customBoundaries" in no_range.json()["errors"]["predictionWarning"]

    wanted = {"enabled": True, "customBoundaries": {"lower": -1.0, "upper": 1.0}}
    changed = _patch(live_server, deployment_id, {"predictionWarning": wanted})
    assert changed.status_code == 202, changed.text
    assert changed.json() == {"predictionWarning": wanted}
    status_url = changed.headers["location"]
    assert status_url == f"{url}status/"
    status = httpx.get(status_url, headers=live_server.headers(), follow_redirects=False)
    assert status.status_code == 303
    assert status.headers["location"] == url
    assert status.json()["status"] == "COMPLETED"
    assert httpx.get(url, headers=live_server.headers()).json() == {"predictionWarning": wanted}

    off = _patch(live_server, deployment_id, {"predictionWarning": {"enabled": False}})
    assert off.json() == {"predictionWarning": {**wanted, "enabled": False}}


def test_settings_round_trip_through_the_official_client(
    live_server: LiveServer, regression_model: Path
) -> None:
    deployment_id = _register(live_server, regression_model, predictionRange="0,5").json()["id"]
    dr.Client(endpoint=live_server.url, token=live_server.token)
    deployment = dr.Deployment.get(deployment_id)
    # the client drops null fields: no custom_boundaries means the model's default range
    assert deployment.get_prediction_warning_settings() == {"enabled": True}
    deployment.update_prediction_warning_settings(
        prediction_warning_enabled=True,
        use_default_boundaries=False,
        lower_boundary=1.5,
        upper_boundary=2.5,
        max_wait=60,
    )
    assert deployment.get_prediction_warning_settings() == {
        "enabled": True,
        "custom_boundaries": {"lower": 1.5, "upper": 2.5},
    }
    deployment.update_prediction_warning_settings(
        prediction_warning_enabled=True, use_default_boundaries=True, max_wait=60
    )
    assert deployment.get_prediction_warning_settings() == {"enabled": True}
    deployment.update_prediction_warning_settings(prediction_warning_enabled=False, max_wait=60)
    assert deployment.get_prediction_warning_settings()["enabled"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "predictionWarning"),
        ({"targetDrift": {"enabled": True}}, "targetDrift"),
        ({"predictionWarning": "on"}, "predictionWarning"),
        ({"predictionWarning": {"enabled": 1}}, "predictionWarning"),
        ({"predictionWarning": {"enabled": True, "customBoundaries": {"lower": 3, "upper": 2}}},
         "predictionWarning"),
    ],
)  # fmt: skip
def test_bad_bodies_are_422_naming_the_field_and_change_nothing(
    shared_live_server: LiveServer, ranged_deployment: str, body: Any, field: str
) -> None:
    live = shared_live_server
    response = _patch(live, ranged_deployment, body)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"], response.text
    got = httpx.get(_settings_url(live, ranged_deployment), headers=live.headers())
    assert got.json() == {"predictionWarning": {"enabled": True, "customBoundaries": None}}


def test_classification_deployments_take_no_warnings(
    live_server: LiveServer, onnx_binary_model: Path
) -> None:
    form = {"targetType": "binary", "positiveClass": "yes", "featureNames": "num_a,num_b"}
    ranged = _register(live_server, onnx_binary_model, predictionRange="0,1", **form)
    assert ranged.status_code == 422, ranged.text
    assert "predictionRange" in ranged.json()["errors"]
    deployment_id = _register(live_server, onnx_binary_model, **form).json()["id"]
    body = {"enabled": True, "customBoundaries": {"lower": 0, "upper": 1}}
    refused = _patch(live_server, deployment_id, {"predictionWarning": body})
    assert refused.status_code == 422
    assert "regression" in refused.json()["errors"]["predictionWarning"]["enabled"]


@pytest.mark.parametrize("text", ["1", "a,b", "5,1", "inf,1"])
def test_bad_registration_ranges_are_422(
    shared_live_server: LiveServer, regression_model: Path, text: str
) -> None:
    artifacts = shared_live_server.settings.artifacts_dir
    before = sorted(artifacts.iterdir())
    response = _register(shared_live_server, regression_model, predictionRange=text)
    assert response.status_code == 422, response.text
    assert "predictionRange" in response.json()["errors"]
    assert sorted(artifacts.iterdir()) == before


def test_another_organizations_deployment_is_not_found(
    live_server: LiveServer, regression_model: Path
) -> None:
    deployment_id = _register(live_server, regression_model, predictionRange="0,1").json()["id"]
    stranger = live_server.token_for("org-b", "bob")
    url = _settings_url(live_server, deployment_id)
    assert httpx.get(url, headers=live_server.headers(stranger)).status_code == 404
    assert httpx.get(f"{url}status/", headers=live_server.headers(stranger)).status_code == 404
    body = {"predictionWarning": {"enabled": False}}
    assert _patch(live_server, deployment_id, body, token=stranger).status_code == 404
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=live_server.headers()).json()["predictionWarning"]["enabled"]


@pytest.mark.e2e
def test_cli_prediction_range(live_server: LiveServer, regression_model: Path) -> None:
    env = {
        **os.environ,
        "SCORECAST_ENDPOINT": live_server.url,
        "SCORECAST_TOKEN": live_server.token,
    }
    scorecast = shutil.which("scorecast")
    assert scorecast, "the scorecast console script is not installed"
    command = [
        scorecast, "deployment", "create", str(regression_model), "--target", "y",
        "--target-type", "regression", "--feature-names", "a,b", "--prediction-range",
    ]  # fmt: skip

    def run(value: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, value], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    created = run("-1.5,4")
    assert created.returncode == 0, created.stderr
    deployment_id = created.stdout.strip().splitlines()[-1]
    got = httpx.get(
        f"{live_server.url}/deployments/{deployment_id}/", headers=live_server.headers()
    )
    assert got.json()["scorecastModel"]["predictionRange"] == {"lower": -1.5, "upper": 4.0}
    bad = run("4,-1.5")
    assert bad.returncode == 2, bad.stderr
    assert "predictionRange" in bad.stderr and "Traceback" not in bad.stderr


_KEYS = ["predictionWarning", "enabled", "customBoundaries", "lower", "upper", "targetDrift"]
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text(max_size=10)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@pytest.fixture
def settings_url(live_server: LiveServer, regression_model: Path) -> str:
    deployment_id = _register(live_server, regression_model, predictionRange="0,1").json()["id"]
    return _settings_url(live_server, deployment_id)


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.dictionaries(st.sampled_from(_KEYS), _values, max_size=3) | _values)
def test_any_json_gets_202_or_a_422(
    live_server: LiveServer, settings_url: str, body: object
) -> None:
    import json

    content = json.dumps(body)  # NaN and Infinity too, as Python's JSON writes them
    headers = {**live_server.headers(), "Content-Type": "application/json"}
    response = httpx.patch(settings_url, content=content, headers=headers, timeout=60)
    assert response.status_code in (202, 422), response.text
    assert response.headers["content-type"] == "application/json"
    got = httpx.get(settings_url, headers=live_server.headers())
    assert got.status_code == 200, got.text
