"""LightGBM native model files (the text format ``Booster.save_model`` writes).

The objective in the file decides the target type: ``regression*``/``huber``/``poisson``...
are regressors, ``binary`` is a binary classifier, ``multiclass``/``multiclassova`` a
multiclass one. LightGBM files do not store class labels, so they are ``0``, ``1``, ...
(the integer codes the model was trained on). Every feature is numeric (LightGBM categorical
features are integer codes). Explanations are LightGBM's exact TreeSHAP contributions
(``pred_contrib=True``), in log-odds for classifiers.
"""

from __future__ import annotations

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

FORMAT = "lightgbm"
MAGIC = b"tree\n"


def _header(path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    with path.open("rb") as handle:
        for raw in handle:
            line = raw.decode("utf-8", errors="replace").strip()
            if line.startswith(("Tree=", "tree_sizes")):
                break
            key, sep, value = line.partition("=")
            if sep:
                fields[key] = value
    return fields


def _booster(path: Path) -> Any:
    lgb = require_extra("lightgbm", "lightgbm")
    try:
        return lgb.Booster(model_file=str(path))
    except Exception as exc:
        raise ModelLoadError(f"not a readable LightGBM model file: {exc}") from exc


def describe(path: Path, declared: Declared, sha256: str) -> ModelDescription:
    booster = _booster(path)
    header = _header(path)
    objective = header.get("objective", "").split(" ")[0]
    num_class = int(header.get("num_class", "1"))
    kind: Literal["regressor", "classifier"]
    labels: list[str]
    if objective == "binary":
        kind, labels = "classifier", ["0", "1"]
    elif objective in ("multiclass", "multiclassova", "softmax", "multiclass_ova"):
        kind, labels = "classifier", [str(i) for i in range(num_class)]
    elif objective in ("lambdarank", "rank_xendcg", "cross_entropy", "cross_entropy_lambda"):
        raise ModelLoadError(f"LightGBM objective {objective!r} is not a supported target type")
    else:
        kind, labels = "regressor", []
    return booster_description(
        declared,
        sha256,
        format_name=FORMAT,
        model_kind=kind,
        labels=labels,
        feature_names=list(booster.feature_name()),
        objective=objective,
    )


class LightGBMPredictor(Predictor):
    def __init__(self, booster: Any, description: ModelDescription) -> None:
        super().__init__(description)
        self.booster = booster

    def predict(self, batch: pa.RecordBatch) -> FloatArray:
        matrix = numeric_matrix(batch, self.description.feature_names)
        raw = np.asarray(self.booster.predict(matrix), dtype=np.float64)
        if self.description.target_type == "binary":
            return binary_probabilities(raw)
        return raw

    def explain(self, batch: pa.RecordBatch, class_index: np.ndarray[Any, Any]) -> FloatArray:
        matrix = numeric_matrix(batch, self.description.feature_names)
        contributions = np.asarray(
            self.booster.predict(matrix, pred_contrib=True), dtype=np.float64
        )
        width = len(self.features) + 1  # the last column of each block is the bias
        if self.description.target_type == "multiclass":
            per_class = contributions.reshape(len(matrix), -1, width)[:, :, :-1]
            return pick_classes(per_class, class_index)
        result = contributions[:, :-1]
        if self.description.target_type == "binary" and self.description.positive_class == "0":
            result = -result
        return result


def load(path: Path, description: ModelDescription) -> Predictor:
    return LightGBMPredictor(_booster(path), description)
