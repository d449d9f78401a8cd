"""Feature names at registration: an ONNX model with one matrix input and no ``feature_names``
metadata registers when its column names are given (API ``featureNames``, CLI
``--feature-names``); wrong names are a 422 naming ``featureNames``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest

from live_api import LiveServer

COLUMNS = ["age", "income", "visits"]


@pytest.fixture(scope="module")
def matrix_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """skl2onnx's export of a LogisticRegression fit on a numpy array: one ``[N, 3]`` input,
    integer labels 0/1, no metadata."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(4)
    features = rng.normal(size=(200, 3)).astype(np.float32)
    labels = (features[:, 0] - features[:, 2] > 0).astype(int)
    model = LogisticRegression().fit(features, labels)
    exported = to_onnx(model, features[:1], options={"zipmap": False}, target_opset=17)
    assert not exported.metadata_props
    path = tmp_path_factory.mktemp("matrix") / "matrix.onnx"
    path.write_bytes(exported.SerializeToString())
    return path


def _register(live_server: LiveServer, model: Path, **form: str) -> httpx.Response:
    with model.open("rb") as handle:
        return httpx.post(
            f"{live_server.url}/deployments/fromModelFile/",
            files={"file": (model.name, handle)},
            data={"targetName": "churned", "targetType": "binary", **form},
            headers=live_server.headers(),
            timeout=60,
        )


def test_column_names_given_at_registration(live_server: LiveServer, matrix_model: Path) -> None:
    refused = _register(live_server, matrix_model)
    assert refused.status_code == 422, refused.text
    assert "featureNames" in refused.json()["errors"]
    assert "--feature-names" in refused.json()["message"]

    response = _register(live_server, matrix_model, featureNames=" age, income ,visits")
    assert response.status_code == 201, response.text
    model = response.json()["scorecastModel"]
    assert [f["name"] for f in model["features"]] == COLUMNS
    assert model["classLabels"] == ["0", "1"]
    assert model["positiveClass"] == "1"


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        ("age,income", "exactly 3 columns"),
        ("age,income,visits,extra", "exactly 3 columns"),
        ("age,age,visits", "twice"),
        ("age,,visits", "empty name"),
        ("  ", "at least one"),
    ],
)
def test_wrong_names_are_422_and_leave_nothing(
    shared_live_server: LiveServer, matrix_model: Path, names: str, problem: str
) -> None:
    live = shared_live_server
    response = _register(live, matrix_model, featureNames=names)
    assert response.status_code == 422, response.text
    assert problem in response.json()["errors"]["featureNames"], response.text
    assert str(live.settings.home) not in response.text
    assert not any(live.settings.artifacts_dir.iterdir())  # no test on this server registers


def test_a_model_naming_its_own_columns_must_agree(
    live_server: LiveServer, onnx_binary_model: Path
) -> None:
    form = {"positiveClass": "yes"}
    other = _register(live_server, onnx_binary_model, featureNames="x,y", **form)
    assert other.status_code == 422, other.text
    assert "featureNames" in other.json()["errors"]
    assert "num_a, num_b" in other.json()["message"]
    same = _register(live_server, onnx_binary_model, featureNames="num_a,num_b", **form)
    assert same.status_code == 201, same.text


@pytest.mark.e2e
def test_cli_feature_names(live_server: LiveServer, matrix_model: Path) -> None:
    env = {
        **os.environ,
        "SCORECAST_ENDPOINT": live_server.url,
        "SCORECAST_TOKEN": live_server.token,
    }
    scorecast = shutil.which("scorecast")
    assert scorecast, "the scorecast console script is not installed"
    command = [
        scorecast, "deployment", "create", str(matrix_model), "--target", "churned",
        "--target-type", "binary",
    ]  # fmt: skip

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *extra], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    created = run("--feature-names", "age,income,visits")
    assert created.returncode == 0, created.stderr
    deployment_id = created.stdout.strip().splitlines()[-1]
    got = httpx.get(
        f"{live_server.url}/deployments/{deployment_id}/", headers=live_server.headers()
    )
    assert [f["name"] for f in got.json()["scorecastModel"]["features"]] == COLUMNS

    for bad in (["--feature-names", "age,,visits"], ["--feature-names", "age,income"], []):
        result = run(*bad)
        assert result.returncode != 0, bad
        assert "featureNames" in result.stderr or "feature names" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
