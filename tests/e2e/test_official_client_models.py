"""Models users already have, with the official ``datarobot`` client against a real
``scorecast serve`` (SQLite and PostgreSQL): a skl2onnx ``LogisticRegression`` export with
integer labels and one matrix input, and prediction warnings set through the client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from serving import ServeProcess

pytestmark = pytest.mark.e2e

COLUMNS = ["a", "b", "c"]


def _frame(rows: int, seed: int) -> pd.DataFrame:
    values = np.random.default_rng(seed).normal(size=(rows, len(COLUMNS))).astype(np.float32)
    return pd.DataFrame(values, columns=COLUMNS)


def _register(server: ServeProcess, path: Path, **form: str) -> str:
    with server.http() as http:
        response = http.post(
            "deployments/fromModelFile/",
            files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
            data={"targetName": "y", "featureNames": ",".join(COLUMNS), **form},
        )
    assert response.status_code == 201, response.text
    deployment_id: str = response.json()["id"]
    return deployment_id


def _score(dr: Any, deployment_id: str, frame: pd.DataFrame, tmp_path: Path, **extra: Any):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    job = dr.BatchPredictionJob.score_to_file(deployment_id, str(source), str(target), **extra)
    assert job.get_status()["status"] == "COMPLETED"
    return pd.read_csv(target)


@pytest.mark.parametrize("labels", [[0, 1], [0, 3, 7]], ids=["binary", "multiclass"])
def test_a_skl2onnx_logistic_regression_with_integer_labels(
    dr: Any, server: ServeProcess, tmp_path: Path, labels: list[int]
) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    train = _frame(300, 1)
    score = train.a + 0.5 * train.b - train.c
    edges = np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1])
    target = np.asarray(labels)[np.searchsorted(edges, score)]
    model = LogisticRegression().fit(train.to_numpy(), target)
    path = tmp_path / "logistic.onnx"
    exported = to_onnx(model, train.to_numpy()[:1], options={"zipmap": False}, target_opset=17)
    path.write_bytes(exported.SerializeToString())

    target_type = "binary" if len(labels) == 2 else "multiclass"
    deployment_id = _register(server, path, targetType=target_type)
    rows = _frame(500, 2)
    out = _score(dr, deployment_id, rows, tmp_path)

    expected = model.predict_proba(rows.to_numpy())
    assert len(out) == len(rows)
    for index, label in enumerate(labels):
        got = out[f"y_{label}_PREDICTION"].to_numpy()
        np.testing.assert_allclose(got, expected[:, index], rtol=0, atol=1e-5)
    ordered = np.sort(expected, axis=1)
    clear = ordered[:, -1] - ordered[:, -2] > 1e-4  # float32 scoring may reorder near ties
    predicted = out["y_PREDICTION"].astype(int).to_numpy()
    np.testing.assert_array_equal(predicted[clear], model.predict(rows.to_numpy())[clear])
    if target_type == "binary":
        assert set(out["POSITIVE_CLASS"].astype(int)) == {1}


def test_prediction_warnings_round_trip_and_flag_outliers(
    dr: Any, server: ServeProcess, tmp_path: Path
) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    train = _frame(200, 3)
    model = LinearRegression().fit(train.to_numpy(), 2 * train.a - train.b + 0.5 * train.c)
    path = tmp_path / "linear.onnx"
    path.write_bytes(to_onnx(model, train.to_numpy()[:1], target_opset=17).SerializeToString())
    deployment_id = _register(server, path, targetType="regression", predictionRange="-2,2")
    deployment = dr.Deployment.get(deployment_id)
    assert deployment.get_prediction_warning_settings() == {"enabled": True}

    rows = _frame(400, 4)
    out = _score(dr, deployment_id, rows, tmp_path, prediction_warning_enabled=True)
    predictions = out["y_PREDICTION"]
    assert (
        out["IS_OUTLIER_PREDICTION"].tolist() == ((predictions < -2) | (predictions > 2)).tolist()
    )
    assert out["IS_OUTLIER_PREDICTION"].any() and not out["IS_OUTLIER_PREDICTION"].all()

    deployment.update_prediction_warning_settings(
        prediction_warning_enabled=True,
        use_default_boundaries=False,
        lower_boundary=-0.5,
        upper_boundary=1.0,
        max_wait=60,
    )
    assert deployment.get_prediction_warning_settings() == {
        "enabled": True,
        "custom_boundaries": {"lower": -0.5, "upper": 1.0},
    }
    out = _score(dr, deployment_id, rows, tmp_path, prediction_warning_enabled=True)
    predictions = out["y_PREDICTION"]
    flagged = (predictions < -0.5) | (predictions > 1.0)
    assert out["IS_OUTLIER_PREDICTION"].tolist() == flagged.tolist()

    assert "IS_OUTLIER_PREDICTION" not in _score(dr, deployment_id, rows, tmp_path).columns
    deployment.update_prediction_warning_settings(prediction_warning_enabled=False, max_wait=60)
    assert deployment.get_prediction_warning_settings()["enabled"] is False
    out = _score(dr, deployment_id, rows, tmp_path, prediction_warning_enabled=True)
    assert "IS_OUTLIER_PREDICTION" not in out.columns
