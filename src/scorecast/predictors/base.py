"""The model-format protocol: what a deployment records about its model, and how it predicts.

A ``ModelDescription`` is made once, at registration, by ``describe_model``; it is stored as JSON
and travels with every job. A ``Predictor`` is the loaded model in one process.

Prediction contract (``Predictor.predict``): the input is a record batch holding at least the
declared features, numeric features as float64 (null = missing) and categorical ones as strings;
the result is a float64 array: shape ``(n,)`` for regression, ``(n, k)`` probabilities in the
order of ``description.class_labels`` for classification. A predictor raises any exception for a
batch it cannot score; the engine then isolates the rows at fault.

Explanation contract (``Predictor.explain``): per-row additive contributions of each declared
feature, shape ``(n, len(features))``, in the model's output space before the link function
(log-odds for classification, the prediction itself for regression), for the positive class
(binary) or the class ``class_index[i]`` of row ``i`` (multiclass). A multiclass model also
takes an ``(n, K)`` ``class_index`` and then returns ``(n, K, len(features))``: row ``i``
explained for each of its classes ``class_index[i, k]`` (``pick_classes`` does the indexing).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from scorecast.domain.model_description import (
    DEFAULT_THRESHOLD,
    TARGET_TYPES,
    Feature,
    FeatureType,
    ModelDescription,
    Parallelism,
    TargetType,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "TARGET_TYPES",
    "Declared",
    "Feature",
    "FeatureType",
    "FloatArray",
    "ModelDescription",
    "ModelFormat",
    "Parallelism",
    "Predictor",
    "TargetType",
]

FloatArray = npt.NDArray[np.float64]


class Predictor(ABC):
    """A loaded model; one instance per process, reused for every chunk."""

    def __init__(self, description: ModelDescription) -> None:
        self.description = description

    @property
    def features(self) -> list[Feature]:
        return self.description.features

    @property
    def class_labels(self) -> list[str]:
        return self.description.class_labels

    @property
    def can_explain(self) -> bool:
        return self.description.can_explain

    @abstractmethod
    def predict(self, batch: pa.RecordBatch) -> FloatArray:
        """Predictions for every row of ``batch`` (see the module docstring for shapes)."""

    def explain(self, batch: pa.RecordBatch, class_index: npt.NDArray[np.intp]) -> FloatArray:
        """Per-row, per-feature contributions (see the module docstring)."""
        raise NotImplementedError(
            self.description.explain_unavailable_reason or "this model cannot explain"
        )


class ModelFormat(Protocol):
    """One model format (ONNX, skops, ...): a module of ``scorecast.predictors`` with these two
    functions, listed once in ``predictors.registry.FORMATS`` under the name its descriptions
    carry (``ModelDescription.format``)."""

    def describe(self, path: Path, declared: Declared, sha256: str) -> ModelDescription:
        """At registration (in a short-lived child process): load the artifact at ``path``,
        check it against what the user ``declared`` and describe it (features, class labels,
        whether it can explain, its parallelism). Raises ``ModelLoadError`` naming the field at
        fault for a model that contradicts the declaration or cannot be loaded, and
        ``MissingExtra`` when the format's package is not installed."""
        ...

    def load(self, path: Path, description: ModelDescription) -> Predictor:
        """In a job process: the predictor of an artifact ``describe`` described; loaded once
        per process and reused for every chunk (see the prediction contract above)."""
        ...


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, or of a directory's files (names and contents, in sorted order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            for piece in iter(lambda: handle.read(1 << 20), b""):
                digest.update(piece)
    return digest.hexdigest()


def numeric_matrix(batch: pa.RecordBatch, names: list[str]) -> FloatArray:
    """The named columns as a float64 matrix (nulls as NaN), for models taking one array."""
    if not names:
        return np.empty((batch.num_rows, 0))
    columns = [
        batch.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False) for name in names
    ]
    return np.column_stack(columns).astype(np.float64, copy=False)


def pick_classes(per_class: FloatArray, class_index: npt.NDArray[np.intp]) -> FloatArray:
    """From ``(n, classes, features)`` contributions, row ``i``'s class ``class_index[i]``
    (``(n,)`` → ``(n, features)``) or classes ``class_index[i, :]`` (``(n, K)`` →
    ``(n, K, features)``)."""
    index = np.asarray(class_index, dtype=np.intp)
    rows = np.arange(len(index)).reshape((-1,) + (1,) * (index.ndim - 1))
    picked: FloatArray = np.asarray(per_class[rows, index], dtype=np.float64)
    return picked


def binary_probabilities(positive: FloatArray) -> FloatArray:
    """``(n,)`` probabilities of the second label → ``(n, 2)`` in label order."""
    positive = np.asarray(positive, dtype=np.float64).reshape(-1)
    return np.column_stack([1.0 - positive, positive])


@dataclass(frozen=True)
class Declared:
    """What the user declares at registration, checked against the model by each format."""

    target: str
    target_type: TargetType
    positive_class: str | None = None
    trust_pickle: bool = False
    prediction_range: tuple[float, float] | None = None
    #: the input column names, in the model's order, for a model that does not record them
    #: (an ONNX model with one matrix input); a model that does must record the same names
    feature_names: tuple[str, ...] | None = None


def settle_labels(
    declared: Declared, model_kind: Literal["regressor", "classifier"], labels: list[str]
) -> tuple[list[str], str | None]:
    """Check the declared target type against the model; return (class labels, positive class).

    Raises ``ModelLoadError`` when they contradict: a regressor declared binary, a 3-class
    model declared binary, a positive class the model does not know.
    """
    from scorecast.errors import ModelLoadError

    if declared.target_type == "regression":
        if model_kind != "regressor":
            raise ModelLoadError(
                f"the model is a classifier (classes {labels}) but the target "
                f"{declared.target!r} was declared regression",
                {"targetType": "does not match the model"},
            )
        return [], None
    if model_kind != "classifier":
        raise ModelLoadError(
            f"the model is a regressor but the target {declared.target!r} was declared "
            f"{declared.target_type}",
            {"targetType": "does not match the model"},
        )
    if declared.target_type == "binary" and len(labels) != 2:
        raise ModelLoadError(
            f"the target was declared binary but the model has {len(labels)} classes: {labels}",
            {"targetType": "does not match the model"},
        )
    if declared.target_type == "multiclass" and len(labels) < 3:
        raise ModelLoadError(
            f"the target was declared multiclass but the model has {len(labels)} classes "
            f"{labels}; declare it binary",
            {"targetType": "does not match the model"},
        )
    if len(set(labels)) != len(labels):
        raise ModelLoadError(f"the model's class labels are not distinct as text: {labels}")
    positive = declared.positive_class
    if declared.target_type == "binary":
        if positive is None:
            positive = labels[1]
        elif positive not in labels:
            raise ModelLoadError(
                f"positive class {positive!r} is not one of the model's classes {labels}",
                {"positiveClass": f"must be one of {labels}"},
            )
    elif positive is not None:
        raise ModelLoadError(
            "a positive class is only meaningful for a binary target",
            {"positiveClass": "only for binary targets"},
        )
    return labels, positive


def label_text(label: Any) -> str:
    """A class label as DataRobot prints it in column names (numpy scalars as Python values)."""
    if isinstance(label, np.generic):
        label = label.item()
    if isinstance(label, bytes):
        return label.decode()
    return str(label)


def booster_description(
    declared: Declared,
    sha256: str,
    *,
    format_name: str,
    model_kind: Literal["regressor", "classifier"],
    labels: list[str],
    feature_names: list[str],
    objective: str,
) -> ModelDescription:
    """The description of a native gradient-boosting file (LightGBM, XGBoost).

    Such files store no class names (labels are ``"0"``, ``"1"``, ...), always explain with
    their own exact contributions and use every core per call (``parallelism="threads"``).
    """
    class_labels, positive = settle_labels(declared, model_kind, labels)
    return ModelDescription(
        format=format_name,
        target=declared.target,
        target_type=declared.target_type,
        features=[Feature(name) for name in feature_names],
        sha256=sha256,
        class_labels=class_labels,
        positive_class=positive,
        prediction_range=declared.prediction_range,
        can_explain=True,
        parallelism="threads",
        details={"objective": objective},
    )
