"""Golden tests: scorecast's output equals each model's own predictions under DataRobot names."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
from model_zoo import FEATURES, BuiltModel, training_frame

from scorecast.domain.csv_settings import CsvSettings
from scorecast.domain.output_names import prediction_column, probability_column
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine.runner import csv_column_types
from scorecast.engine.scoring import score_chunk
from scorecast.formats import decode_csv_block, iter_csv_blocks
from scorecast.predictors import ModelDescription, describe_model, load_predictor

MODEL_NAMES = [
    f"{kind}_{target}"
    for kind in ("skops_linear", "skops_hgb", "pickle_linear", "onnx_linear", "lightgbm", "xgboost")
    for target in ("regression", "binary", "multiclass")
]


def _reference(model: BuiltModel, frame) -> tuple[np.ndarray, np.ndarray | None]:
    """(probabilities or values, labels) from the model's own API."""
    inputs = frame[model.features]
    if model.name == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(model.path), providers=["CPUExecutionProvider"])
        feeds = {
            name: (
                inputs[name].to_numpy().astype(object).reshape(-1, 1)
                if name == "cat_a"
                else inputs[name].to_numpy().astype(np.float32).reshape(-1, 1)
            )
            for name in model.features
        }
        outputs = session.run(None, feeds)
        if model.target_type == "regression":
            return outputs[0].reshape(-1), None
        probabilities = outputs[1]
        if isinstance(probabilities, list):
            keys = list(probabilities[0])
            probabilities = np.array([[row[k] for k in keys] for row in probabilities])
        return np.asarray(probabilities), np.asarray(outputs[0]).astype(str)
    if model.name == "lightgbm":
        raw = model.model.predict(inputs.to_numpy())
        if model.target_type == "binary":
            return np.column_stack([1 - raw, raw]), (raw > 0.5).astype(int).astype(str)
        if model.target_type == "multiclass":
            return raw, raw.argmax(axis=1).astype(str)
        return raw, None
    if model.target_type == "regression":
        return model.model.predict(inputs), None
    return model.model.predict_proba(inputs), model.model.predict(inputs).astype(str)


def _score_via_csv(description: ModelDescription, model: BuiltModel, frame) -> pa.RecordBatch:
    data = frame.to_csv(index=False).encode()
    blocks = list(iter_csv_blocks(io.BytesIO(data), CsvSettings(), 4096))
    names = frame.columns.tolist()
    types = csv_column_types(names, description, ())
    predictor = load_predictor(model.path, description)
    batches = []
    for block in blocks:
        typed = replace(block, column_types=types)
        batches.append(
            score_chunk(
                predictor, description, ScoringOptions(), decode_csv_block(typed), from_csv=True
            ).batch
        )
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predictions_equal_the_models_own(zoo: dict[str, BuiltModel], name: str) -> None:
    model = zoo[name]
    description = describe_model(
        model.path,
        target="y",
        target_type=model.target_type,
        positive_class=None,
        trust_pickle=model.trust_pickle,
    )
    frame = training_frame(300, seed=11)[FEATURES]
    output = _score_via_csv(description, model, frame)
    expected, labels = _reference(model, frame)
    assert output.num_rows == len(frame)
    if model.target_type == "regression":
        assert output.schema.names == ["y_PREDICTION"]
        np.testing.assert_allclose(
            output.column("y_PREDICTION").to_numpy(), expected, rtol=0, atol=1e-6
        )
        return
    for index, label in enumerate(description.class_labels):
        got = output.column(probability_column("y", label)).to_numpy()
        np.testing.assert_allclose(got, expected[:, index], rtol=0, atol=1e-6)
    assert output.column(prediction_column("y")).to_pylist() == labels.tolist()
    if model.target_type == "binary":
        assert set(output.column("THRESHOLD").to_pylist()) == {0.5}
        assert set(output.column("POSITIVE_CLASS").to_pylist()) == {description.positive_class}
