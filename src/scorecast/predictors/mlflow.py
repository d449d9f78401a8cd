"""MLflow models (a model directory holding an ``MLmodel`` file, or a zip of one); extra
``scorecast[mlflow]``.

Loading an MLflow model unpickles its contents (cloudpickle), which runs code from the files,
so MLflow models need the same ``trust_pickle`` opt-in as pickle files.

A model with the ``sklearn`` flavor is scored through scikit-learn (probabilities via
``predict_proba``, explanations for linear pipelines). Any other pyfunc model is a regressor
(``predict`` returns one number per row) unless its signature declares one output column per
class, in which case those columns are the class probabilities. Features come from the
signature's inputs (string columns are categorical), or from the sklearn model.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from scorecast.errors import ModelLoadError, require_extra
from scorecast.predictors.base import (
    Declared,
    Feature,
    FloatArray,
    ModelDescription,
    Predictor,
    settle_labels,
)
from scorecast.predictors.sklearn_model import SklearnPredictor, describe_estimator

FORMAT = "mlflow"
_unpacked: dict[str, Path] = {}


def model_directory(path: Path) -> Path:
    """The directory holding ``MLmodel``: ``path`` itself, or a zip extracted once per process."""
    if path.is_dir():
        if not (path / "MLmodel").is_file():
            raise ModelLoadError(f"{path.name} has no MLmodel file: not an MLflow model")
        return path
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()
    if key not in _unpacked:
        target = Path(tempfile.mkdtemp(prefix="scorecast-mlflow-"))
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                resolved = (target / member).resolve()
                if not resolved.is_relative_to(target.resolve()):
                    raise ModelLoadError(f"the zip entry {member!r} escapes the model directory")
            archive.extractall(target)
        found = sorted(target.rglob("MLmodel"), key=lambda p: len(p.parts))
        if not found:
            raise ModelLoadError("the zip holds no MLmodel file: not an MLflow model")
        _unpacked[key] = found[0].parent
    return _unpacked[key]


def _require_trust(trusted: bool) -> None:
    if not trusted:
        raise ModelLoadError(
            "loading an MLflow model unpickles its files, which runs code: where the server's "
            "operator allows pickle models, register it with --trust-pickle (trustPickle: true) "
            "if you trust its origin",
            {"trustPickle": "required for MLflow models"},
        )


def _flavors(directory: Path) -> dict[str, Any]:
    models = require_extra("mlflow.models", "mlflow")
    return dict(models.Model.load(str(directory / "MLmodel")).flavors)


def describe(path: Path, declared: Declared, sha256: str) -> ModelDescription:
    _require_trust(declared.trust_pickle)
    directory = model_directory(path)
    if "sklearn" in _flavors(directory):
        estimator = require_extra("mlflow.sklearn", "mlflow").load_model(str(directory))
        description = describe_estimator(estimator, declared, fmt=FORMAT, sha256=sha256)
        description.details["flavor"] = "sklearn"
        return description
    pyfunc = require_extra("mlflow.pyfunc", "mlflow")
    try:
        model = pyfunc.load_model(str(directory))
    except Exception as exc:
        raise ModelLoadError(f"the MLflow model could not be loaded: {exc}") from exc
    signature = model.metadata.signature
    if signature is None or signature.inputs is None:
        raise ModelLoadError("the MLflow model has no input signature: log it with a signature")
    features = [
        Feature(spec.name, "categorical" if str(spec.type) == "string" else "numeric")
        for spec in signature.inputs.inputs
    ]
    outputs = [spec.name for spec in signature.outputs.inputs] if signature.outputs else []
    named = [name for name in outputs if name]
    kind, labels = ("classifier", named) if len(named) > 1 else ("regressor", [])
    class_labels, positive = settle_labels(declared, kind, labels)  # type: ignore[arg-type]
    return ModelDescription(
        format=FORMAT,
        target=declared.target,
        target_type=declared.target_type,
        features=features,
        sha256=sha256,
        class_labels=class_labels,
        positive_class=positive,
        trust_pickle=True,
        prediction_range=declared.prediction_range,
        explain_unavailable_reason="generic MLflow pyfunc models cannot explain",
        details={"flavor": "pyfunc"},
    )


class PyfuncPredictor(Predictor):
    def __init__(self, model: Any, description: ModelDescription) -> None:
        super().__init__(description)
        self.model = model

    def predict(self, batch: pa.RecordBatch) -> FloatArray:
        frame = batch.select(self.description.feature_names).to_pandas()
        result = self.model.predict(frame)
        if self.description.target_type == "regression":
            values = result.iloc[:, 0] if isinstance(result, pd.DataFrame) else result
            return np.asarray(values, dtype=np.float64).reshape(-1)
        if not isinstance(result, pd.DataFrame):
            raise ValueError("the MLflow model did not return one probability column per class")
        return np.asarray(result[self.description.class_labels], dtype=np.float64)


def load(path: Path, description: ModelDescription) -> Predictor:
    _require_trust(description.trust_pickle)
    directory = model_directory(path)
    if description.details.get("flavor") == "sklearn":
        estimator = require_extra("mlflow.sklearn", "mlflow").load_model(str(directory))
        return SklearnPredictor(estimator, description)
    model = require_extra("mlflow.pyfunc", "mlflow").load_model(str(directory))
    return PyfuncPredictor(model, description)
