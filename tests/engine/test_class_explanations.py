"""Multiclass explanations for several classes per row (``CLASS_k`` columns), golden.

For a linear pipeline, LightGBM, XGBoost and scikit-learn tree ensembles: the classes are the
model's most probable ones in order (or the requested ones), and each class's strengths add up
to that class's raw output minus its expected value, computed from the models themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from engine_specs import spec_for
from model_zoo import FEATURES, BuiltModel, training_frame, tree_pipeline

from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import run_job
from scorecast.engine.scoring import score_chunk
from scorecast.predictors import ModelDescription, describe_model, load_predictor
from scorecast.predictors.sklearn_tree_explain import TreeExplainer
from scorecast.testing import PathIntake, PathOutput

MODELS = [
    "skops_linear_multiclass",
    "lightgbm_multiclass",
    "xgboost_multiclass",
    "skops_hgb_multiclass",
    "skops_forest_multiclass",
]
PARTS = ("FEATURE_NAME", "STRENGTH", "ACTUAL_VALUE", "QUALITATIVE_STRENGTH")


@pytest.fixture(scope="module")
def models(zoo: dict[str, BuiltModel], tmp_path_factory: pytest.TempPathFactory) -> Any:
    import skops.io

    data = training_frame()
    forest = tree_pipeline("RandomForest", "multiclass").fit(data[FEATURES], data.y_multi)
    path = tmp_path_factory.mktemp("forest") / "forest.skops"
    skops.io.dump(forest, path)
    built = dict(zoo)
    built["skops_forest_multiclass"] = BuiltModel("skops", path, "multiclass", forest, FEATURES)
    return built


def _describe(model: BuiltModel) -> ModelDescription:
    return describe_model(model.path, target="y", target_type="multiclass", positive_class=None)


def _probabilities(model: BuiltModel, inputs: pd.DataFrame) -> np.ndarray:
    if model.name == "lightgbm":
        return np.asarray(model.model.predict(inputs.to_numpy()))
    return np.asarray(model.model.predict_proba(inputs))


def _raw_minus_expected(model: BuiltModel, inputs: pd.DataFrame) -> np.ndarray:
    """``(n, classes)``: each class's raw output minus its expected value, from the model."""
    if model.name == "lightgbm":
        raw = model.model.predict(inputs.to_numpy(), raw_score=True)
        full = model.model.predict(inputs.to_numpy(), pred_contrib=True)
        bias = full.reshape(len(inputs), raw.shape[1], -1)[:, :, -1]
        return np.asarray(raw - bias)
    if model.name == "xgboost":
        import xgboost as xgb

        matrix = xgb.DMatrix(inputs, feature_names=list(inputs.columns))
        booster = model.model.get_booster()
        margin = booster.predict(matrix, output_margin=True)
        return np.asarray(margin - booster.predict(matrix, pred_contribs=True)[:, :, -1])
    final = model.model[-1]
    if type(final).__name__ == "LogisticRegression":
        return np.asarray(model.model.decision_function(inputs) - final.intercept_)
    explainer = TreeExplainer.build(model.model, FEATURES)
    assert isinstance(explainer, TreeExplainer)
    if type(final).__name__.startswith("HistGradientBoosting"):
        raw = final._raw_predict(model.model[:-1].transform(inputs))
    else:
        raw = model.model.predict_proba(inputs)
    expected = [explainer.expected_value(k) for k in range(raw.shape[1])]
    return np.asarray(raw - np.asarray(expected))


def _score(model: BuiltModel, options: ScoringOptions, rows: pd.DataFrame) -> pd.DataFrame:
    description = _describe(model)
    batch = pa.RecordBatch.from_pandas(rows, preserve_index=False)
    scored = score_chunk(load_predictor(model.path, description), description, options, batch)
    assert scored.failed_rows == 0
    out: pd.DataFrame = scored.batch.to_pandas()
    return out


def _strength_sums(out: pd.DataFrame, rank: int, slots: int) -> np.ndarray:
    return np.asarray(
        sum(out[f"CLASS_{rank}_EXPLANATION_{i}_STRENGTH"] for i in range(1, slots + 1))
    )


@pytest.mark.parametrize("name", MODELS)
def test_top_classes_in_probability_order_add_up_per_class(models: Any, name: str) -> None:
    model = models[name]
    rows = training_frame(60, seed=17)[model.features]
    slots = len(model.features)  # every feature: the strengths add up to the whole output
    options = ScoringOptions(max_explanations=slots, explanation_num_top_classes=2)
    out = _score(model, options, rows)
    labels = _describe(model).class_labels
    probabilities = _probabilities(model, rows)
    order = np.argsort(-probabilities, axis=1, kind="stable")
    assert out.CLASS_1.tolist() == [labels[k] for k in order[:, 0]]
    assert out.CLASS_2.tolist() == [labels[k] for k in order[:, 1]]
    assert out.CLASS_1.tolist() == out.y_PREDICTION.tolist()
    picked = [probabilities[:, [labels.index(c) for c in out[f"CLASS_{r}"]]] for r in (1, 2)]
    assert np.all(np.diagonal(picked[0]) >= np.diagonal(picked[1]))
    target = _raw_minus_expected(model, rows)
    for rank in (1, 2):
        chosen = np.asarray([labels.index(c) for c in out[f"CLASS_{rank}"]])
        np.testing.assert_allclose(
            _strength_sums(out, rank, slots),
            target[np.arange(len(rows)), chosen],
            rtol=0,
            atol=1e-5,
        )
        assert set(out[f"CLASS_{rank}_EXPLANATION_1_FEATURE_NAME"]) <= set(model.features)
    assert "EXPLANATION_1_FEATURE_NAME" not in out.columns


@pytest.mark.parametrize("name", MODELS)
def test_requested_classes_in_the_requested_order_add_up_per_class(models: Any, name: str) -> None:
    model = models[name]
    rows = training_frame(40, seed=23)[model.features]
    labels = _describe(model).class_labels
    wanted = (labels[2], labels[0])
    slots = len(model.features)
    options = ScoringOptions(max_explanations=slots, explanation_class_names=wanted)
    out = _score(model, options, rows)
    assert set(out.CLASS_1) == {wanted[0]} and set(out.CLASS_2) == {wanted[1]}
    assert "CLASS_3" not in out.columns
    target = _raw_minus_expected(model, rows)
    for rank, label in enumerate(wanted, start=1):
        np.testing.assert_allclose(
            _strength_sums(out, rank, slots), target[:, labels.index(label)], atol=1e-5
        )


def test_without_class_options_the_predicted_class_is_explained_as_before(models: Any) -> None:
    model = models["lightgbm_multiclass"]
    rows = training_frame(30, seed=5)[model.features]
    slots = len(model.features)
    out = _score(model, ScoringOptions(max_explanations=slots), rows)
    assert not [c for c in out.columns if c.startswith("CLASS_")]
    predicted = _probabilities(model, rows).argmax(axis=1)
    strengths = sum(out[f"EXPLANATION_{i}_STRENGTH"] for i in range(1, slots + 1))
    expected = _raw_minus_expected(model, rows)[np.arange(len(rows)), predicted]
    np.testing.assert_allclose(strengths, expected, atol=1e-5)


def test_thresholds_gate_the_whole_row_and_failed_rows_stay_empty(models: Any) -> None:
    model = models["skops_linear_multiclass"]
    rows = training_frame(50, seed=31)[model.features]
    rows["num_b"] = rows["num_b"].astype(object)
    rows.loc[3, "num_b"] = "not a number"
    options = ScoringOptions(
        max_explanations=2,
        explanation_num_top_classes=3,
        threshold_high=0.8,
        include_prediction_status=True,
    )
    description = _describe(model)
    batch = pa.RecordBatch.from_pandas(rows.astype({"num_b": str}), preserve_index=False)
    scored = score_chunk(load_predictor(model.path, description), description, options, batch)
    out = scored.batch.to_pandas()
    assert scored.failed_rows == 1 and out.prediction_status[3] != "OK"
    top = out[[f"y_{label}_PREDICTION" for label in description.class_labels]].max(axis=1)
    explained = (top > 0.8) & (out.prediction_status == "OK")
    assert 0 < explained.sum() < len(rows) - 1
    class_columns = [c for c in out.columns if c.startswith("CLASS_")]
    assert len(class_columns) == 3 * (1 + 2 * len(PARTS))
    assert out.loc[explained, class_columns].notna().all().all()
    assert out.loc[~explained, class_columns].isna().all().all()


def test_class_explanations_with_passthrough_and_remapping_through_a_job(
    models: Any, tmp_path: Path
) -> None:
    model = models["xgboost_multiclass"]
    frame = training_frame(3000, seed=41)[model.features]
    frame.insert(0, "row_id", np.arange(len(frame)))
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    options = ScoringOptions(
        passthrough_columns=("row_id",),
        include_probabilities=False,
        max_explanations=1,
        explanation_num_top_classes=2,
        column_names_remapping={
            "row_id": "id",
            "CLASS_1": "first_class",
            "CLASS_2_EXPLANATION_1_ACTUAL_VALUE": None,
        },
    )
    spec = spec_for(options, num_concurrent=2, chunk_size=20_000)
    intake = PathIntake(source, "csv", spec.csv)
    output = PathOutput(tmp_path / "out.csv", "csv", spec.csv)
    try:
        outcome = run_job(
            spec,
            intake,
            output,
            artifact=model.path,
            description=_describe(model),
            report=lambda _: None,
            should_abort=lambda: False,
            log=lambda _: None,
        )
    finally:
        intake.close()
    output.commit()
    assert outcome.chunks > 1 and outcome.rows_scored == len(frame)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"first_class": str, "CLASS_2": str})
    assert out.columns.tolist() == [
        "id",
        "y_PREDICTION",
        "first_class",
        *(f"CLASS_1_EXPLANATION_1_{part}" for part in PARTS),
        "CLASS_2",
        "CLASS_2_EXPLANATION_1_FEATURE_NAME",
        "CLASS_2_EXPLANATION_1_STRENGTH",
        "CLASS_2_EXPLANATION_1_QUALITATIVE_STRENGTH",
    ]
    assert out.id.tolist() == frame.row_id.tolist()
    order = np.argsort(-_probabilities(model, frame[model.features]), axis=1, kind="stable")
    assert out.first_class.tolist() == [str(k) for k in order[:, 0]]
    assert out.CLASS_2.tolist() == [str(k) for k in order[:, 1]]
