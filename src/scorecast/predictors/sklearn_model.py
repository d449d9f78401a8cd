"""scikit-learn estimators and pipelines, whichever way they were saved (skops or pickle).

The estimator must have been fitted on a pandas DataFrame, so that it knows its input column
names (``feature_names_in_``). Feature types come from the encoders inside the pipeline: a
column that goes into a OneHot/Ordinal/Target encoder (possibly after an imputer) whose
categories are text is categorical, every other column numeric.

A missing text value reaches the model as NaN, as pandas' ``read_csv`` gives it, unless the
model was fitted on None (an encoder with None among its categories, an imputer of None):
scikit-learn's encoders tell the two apart, so the wrong one would be an unknown category.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scorecast.errors import ModelLoadError
from scorecast.predictors.base import (
    Declared,
    Feature,
    FeatureType,
    FloatArray,
    ModelDescription,
    Predictor,
    label_text,
    pick_classes,
    settle_labels,
)
from scorecast.predictors.sklearn_columns import selected_columns
from scorecast.predictors.sklearn_explain import LinearExplainer
from scorecast.predictors.sklearn_parallelism import scoring_parallelism
from scorecast.predictors.sklearn_tree_explain import TREE_MODELS, TreeExplainer

_ENCODERS = ("OneHotEncoder", "OrdinalEncoder", "TargetEncoder")
Explainer = LinearExplainer | TreeExplainer


def describe_estimator(
    estimator: Any, declared: Declared, *, fmt: str, sha256: str
) -> ModelDescription:
    """Check a loaded estimator against the declaration and describe it."""
    from sklearn.base import is_classifier, is_regressor

    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        raise ModelLoadError(
            "the scikit-learn model does not know its input column names: fit it on a pandas "
            "DataFrame so that it has feature_names_in_"
        )
    if not hasattr(estimator, "predict"):
        raise ModelLoadError(f"{type(estimator).__name__} is not a fitted model (no predict)")
    if is_classifier(estimator) and hasattr(estimator, "predict_proba"):
        kind, labels = "classifier", [label_text(c) for c in estimator.classes_]
    elif is_regressor(estimator) or not is_classifier(estimator):
        kind, labels = "regressor", []
    else:
        raise ModelLoadError(
            f"{type(estimator).__name__} is a classifier without predict_proba; "
            "scorecast needs class probabilities"
        )
    class_labels, positive = settle_labels(declared, kind, labels)  # type: ignore[arg-type]
    types, _ = _inspect(estimator, [str(n) for n in names])
    features = [Feature(str(name), types.get(str(name), "numeric")) for name in names]
    explainer = build_explainer(estimator, [f.name for f in features])
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return ModelDescription(
        format=fmt,
        target=declared.target,
        target_type=declared.target_type,
        features=features,
        sha256=sha256,
        class_labels=class_labels,
        positive_class=positive,
        trust_pickle=declared.trust_pickle,
        prediction_range=declared.prediction_range,
        can_explain=not isinstance(explainer, str),
        explain_unavailable_reason=explainer if isinstance(explainer, str) else None,
        parallelism=scoring_parallelism(estimator),
        details={"estimator": type(final).__name__},
    )


def build_explainer(estimator: Any, feature_names: list[str]) -> Explainer | str:
    """The exact explainer of a fitted estimator or pipeline, or why there is none."""
    final = estimator.steps[-1][1] if type(estimator).__name__ == "Pipeline" else estimator
    if type(final).__name__ in TREE_MODELS:
        return TreeExplainer.build(estimator, feature_names)
    return LinearExplainer.build(estimator, feature_names)


class SklearnPredictor(Predictor):
    """Scores with ``predict`` / ``predict_proba`` on a DataFrame of the declared features."""

    def __init__(self, estimator: Any, description: ModelDescription) -> None:
        super().__init__(description)
        self.estimator = estimator
        _, self._missing = _inspect(estimator, description.feature_names)
        built = build_explainer(estimator, description.feature_names)
        self._explainer = None if isinstance(built, str) else built
        self._positive_index = (
            description.class_labels.index(description.positive_class)
            if description.positive_class is not None
            else 1
        )

    def frame(self, batch: pa.RecordBatch) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for feature in self.features:
            column = batch.column(feature.name)
            if feature.type == "numeric":
                data[feature.name] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
            else:
                data[feature.name] = _objects(column, self._missing.get(feature.name, np.nan))
        return pd.DataFrame(data, columns=self.description.feature_names, copy=False)

    def predict(self, batch: pa.RecordBatch) -> FloatArray:
        frame = self.frame(batch)
        if self.description.target_type == "regression":
            return np.asarray(self.estimator.predict(frame), dtype=np.float64).reshape(-1)
        return np.asarray(self.estimator.predict_proba(frame), dtype=np.float64)

    def explain(self, batch: pa.RecordBatch, class_index: np.ndarray[Any, Any]) -> FloatArray:
        if self._explainer is None:
            return super().explain(batch, class_index)
        frame = self.frame(batch)
        if self.description.target_type == "binary":
            contributions = self._explainer.contributions(frame, 0)
            # coef_ of a binary model speaks for classes_[1]
            return contributions if self._positive_index == 1 else -contributions
        if self.description.target_type == "regression":
            return self._explainer.contributions(frame, 0)
        # only the classes some row asks for: a tree model routes every row once per class
        per_class = np.zeros((len(frame), len(self.class_labels), len(self.features)))
        for k in np.unique(class_index):
            per_class[:, k] = self._explainer.contributions(frame, int(k))
        return pick_classes(per_class, class_index)


def _objects(column: pa.Array, missing: Any) -> pd.Series:
    """A text column as a Series of Python strings, ``missing`` where null.

    One string object per distinct value, taken by index (Arrow's dictionary encoding): no row
    builds its own string, and scikit-learn's encoders, which hash and compare every value in
    Python, find each hash cached. With pandas' string dtype instead (each row's string made
    again), the bench's lr job held the GIL for 3.4 s of scoring; this way, 2.4 s.
    """
    encoded = pc.dictionary_encode(column.cast(pa.string()))
    values = np.empty(len(encoded.dictionary) + 1, dtype=object)
    values[:-1] = encoded.dictionary.to_numpy(zero_copy_only=False)
    values[-1] = missing
    indices = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy()
    return pd.Series(values[indices], dtype=object)


def _inspect(estimator: Any, names: list[str]) -> tuple[dict[str, FeatureType], dict[str, Any]]:
    """(the type of each feature an encoder or imputer tells, the missing value (None or NaN)
    of each text feature whose model was fitted on None)."""
    types: dict[str, FeatureType] = {}
    missing: dict[str, Any] = {}
    _visit(estimator, names, types, missing)
    return types, missing


def _visit(
    estimator: Any, columns: list[str], types: dict[str, FeatureType], missing: dict[str, Any]
) -> None:
    kind = type(estimator).__name__
    if kind == "Pipeline":
        for _, step in estimator.steps:
            if type(step).__name__ in (*_ENCODERS, "ColumnTransformer", "Pipeline"):
                _visit(step, columns, types, missing)
                return
            if (
                type(step).__name__ == "SimpleImputer"
                and getattr(step, "statistics_", None) is not None
            ):
                if np.asarray(step.statistics_).dtype.kind in "OUS":
                    types.update(dict.fromkeys(columns, "categorical"))
                    if step.missing_values is None:
                        missing.update(dict.fromkeys(columns))
                    return
                continue
            return
    elif kind == "ColumnTransformer":
        for _, transformer, selection in estimator.transformers_:
            if isinstance(transformer, str):
                continue
            _visit(transformer, selected_columns(selection, columns), types, missing)
    elif kind in _ENCODERS:
        for column, categories in zip(columns, estimator.categories_, strict=False):
            types[column] = "categorical" if categories.dtype.kind in "OUS" else "numeric"
            if any(value is None for value in categories):
                missing[column] = None
