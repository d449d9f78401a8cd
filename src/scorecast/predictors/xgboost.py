"""XGBoost native model files (``.json`` or ``.ubj`` written by ``save_model``).

The objective decides the target type: ``binary:logistic`` → binary, ``multi:softprob`` →
multiclass, ``reg:*``/``count:*``/``survival:*`` → regression (``multi:softmax`` and
``binary:logitraw``/``hinge`` give no probabilities and are refused). Class labels are ``0``,
``1``, ... Features are the names saved in the model (fit on a DataFrame). Explanations are
XGBoost's exact TreeSHAP contributions (``pred_contribs=True``), in log-odds for classifiers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from scorecast.errors import ModelLoadError, require_extra
from scorecast.predictors.base import (
    Declared,
    FloatArray,
    ModelDescription,
    Predictor,
    binary_probabilities,
    booster_description,
    numeric_matrix,
    pick_classes,
)

FORMAT = "xgboost"


def _booster(path: Path) -> Any:
    xgb = require_extra("xgboost", "xgboost")
    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except Exception as exc:
        raise ModelLoadError(f"not a readable XGBoost model file: {exc}") from exc
    return booster


def describe(path: Path, declared: Declared, sha256: str) -> ModelDescription:
    booster = _booster(path)
    learner = json.loads(booster.save_config())["learner"]
    objective = learner["objective"]["name"]
    num_class = int(learner["learner_model_param"].get("num_class", "0") or 0)
    kind: Literal["regressor", "classifier"]
    labels: list[str]
    if objective == "binary:logistic":
        kind, labels = "classifier", ["0", "1"]
    elif objective == "multi:softprob":
        kind, labels = "classifier", [str(i) for i in range(num_class)]
    elif objective.startswith(("reg:", "count:", "survival:")):
        kind, labels = "regressor", []
    else:
        raise ModelLoadError(
            f"XGBoost objective {objective!r} gives no probabilities or values scorecast can "
            "use; train with binary:logistic, multi:softprob or a reg: objective"
        )
    if not booster.feature_names:
        raise ModelLoadError(
            "the XGBoost model has no feature names: train it on a pandas DataFrame"
        )
    return booster_description(
        declared,
        sha256,
        format_name=FORMAT,
        model_kind=kind,
        labels=labels,
        feature_names=list(booster.feature_names),
        objective=objective,
    )


class XGBoostPredictor(Predictor):
    def __init__(self, booster: Any, description: ModelDescription) -> None:
        super().__init__(description)
        self.booster = booster

    def _matrix(self, batch: pa.RecordBatch) -> Any:
        xgb = require_extra("xgboost", "xgboost")
        names = self.description.feature_names
        return xgb.DMatrix(numeric_matrix(batch, names), feature_names=names)

    def predict(self, batch: pa.RecordBatch) -> FloatArray:
        raw = np.asarray(self.booster.predict(self._matrix(batch)), dtype=np.float64)
        if self.description.target_type == "binary":
            return binary_probabilities(raw)
        return raw

    def explain(self, batch: pa.RecordBatch, class_index: np.ndarray[Any, Any]) -> FloatArray:
        contributions = np.asarray(
            self.booster.predict(self._matrix(batch), pred_contribs=True), dtype=np.float64
        )
        if self.description.target_type == "multiclass":
            return pick_classes(contributions[:, :, :-1], class_index)
        result = contributions[:, :-1]
        if self.description.target_type == "binary" and self.description.positive_class == "0":
            result = -result
        return result


def load(path: Path, description: ModelDescription) -> Predictor:
    return XGBoostPredictor(_booster(path), description)
