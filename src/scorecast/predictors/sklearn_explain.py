"""Exact per-row feature contributions of linear scikit-learn models and pipelines.

For a pipeline ``preprocessing → linear model`` the model's decision value is
``intercept + Σ_j coef_j · z_j`` where ``z`` is the preprocessed row. The contribution of input
feature ``f`` is ``Σ_{j from f} coef_j · z_j``: the terms of the model-input columns that ``f``
produced (its one-hot columns, its scaled value). The contributions plus the intercept add up
exactly to the decision value (log-odds for a classifier). The reference point is the origin of
the model's input space: for a standardized feature that is the training mean, so its
contribution is ``coef · (x - mean) / scale``; for a one-hot feature it is the coefficient of
the row's category.

Only preprocessing whose output columns each come from one input column can be mapped back:
ColumnTransformer, Pipeline, OneHotEncoder, OrdinalEncoder, the scalers, SimpleImputer without
indicators, power/quantile transformers. Anything else makes the model unexplainable, with the
reason given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scorecast.predictors.base import FloatArray
from scorecast.predictors.sklearn_columns import selected_columns

_LINEAR = (
    "LogisticRegression",
    "LogisticRegressionCV",
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Lasso",
    "LassoCV",
    "ElasticNet",
    "ElasticNetCV",
    "SGDClassifier",
    "SGDRegressor",
    "BayesianRidge",
    "HuberRegressor",
)
_ONE_TO_ONE = (
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "OrdinalEncoder",
    "PowerTransformer",
    "QuantileTransformer",
    "SimpleImputer",
)


class _UnmappableError(Exception):
    pass


class LinearExplainer:
    """Contributions of each input feature to a linear model's decision value."""

    def __init__(self, preprocess: Any | None, model: Any, origins: list[int], n_features: int):
        self._preprocess = preprocess
        self._coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
        self._to_features = origins_matrix(origins, n_features)

    @classmethod
    def build(cls, estimator: Any, feature_names: list[str]) -> LinearExplainer | str:
        """An explainer, or the reason why this estimator cannot be explained exactly."""
        steps = estimator.steps if type(estimator).__name__ == "Pipeline" else [("", estimator)]
        model = steps[-1][1]
        if type(model).__name__ not in _LINEAR:
            return (
                f"prediction explanations need a linear model, a scikit-learn tree model, "
                f"LightGBM or XGBoost; "
                f"{type(model).__name__} has no exact per-feature contributions in scorecast"
            )
        preprocess = estimator[:-1] if len(steps) > 1 else None
        origins = input_origins(preprocess, feature_names)
        if isinstance(origins, str):
            return origins
        if len(origins) != np.atleast_2d(model.coef_).shape[1]:
            return "prediction explanations are unavailable: the preprocessing width is unknown"
        return cls(preprocess, model, origins, len(feature_names))

    def contributions(self, frame: pd.DataFrame, class_row: int) -> FloatArray:
        """``(n, n_features)`` contributions to the decision value of coefficient row ``k``."""
        import scipy.sparse as sp

        z = self._preprocess.transform(frame) if self._preprocess is not None else frame
        coef = self._coef[class_row]
        if sp.issparse(z):
            terms = sp.csr_matrix(z).multiply(coef).tocsr()
            result = terms @ self._to_features
            return np.asarray(result.toarray(), dtype=np.float64)
        terms = np.asarray(z, dtype=np.float64) * coef
        return np.asarray(terms @ self._to_features.toarray(), dtype=np.float64)


def input_origins(preprocess: Any | None, feature_names: list[str]) -> list[int] | str:
    """For each model-input column, the index of the input feature it came from.

    ``preprocess`` is the fitted part of a pipeline before the model (None: the model reads the
    features as they are). Returns the reason instead when a column cannot be traced back.
    """
    if preprocess is None:
        return list(range(len(feature_names)))
    try:
        return _origins(preprocess, feature_names)
    except _UnmappableError as exc:
        return f"prediction explanations are unavailable: {exc}"


def origins_matrix(origins: list[int], n_features: int) -> Any:
    """The sparse ``(model inputs, features)`` 0/1 matrix that sums columns into features."""
    import scipy.sparse as sp

    rows = np.arange(len(origins))
    return sp.csr_matrix(
        (np.ones(len(origins)), (rows, np.asarray(origins, dtype=np.intp))),
        shape=(len(origins), n_features),
    )


def _origins(transformer: Any, names: list[str]) -> list[int]:
    """For each output column of a fitted transformer, the index of the input it came from."""
    kind = type(transformer).__name__
    if kind == "Pipeline":
        current = list(range(len(names)))
        for _, step in transformer.steps:
            if step in (None, "passthrough"):
                continue
            step_names = [names[i] for i in current]
            current = [current[i] for i in _origins(step, step_names)]
        return current
    if kind == "ColumnTransformer":
        return _column_transformer_origins(transformer, names)
    if kind == "OneHotEncoder":
        widths = transformer._n_features_outs
        return [i for i, width in enumerate(widths) for _ in range(width)]
    if kind == "FunctionTransformer" and transformer.func is None:
        return list(range(len(names)))  # the identity: how ColumnTransformer passes through
    if kind in _ONE_TO_ONE:
        if kind == "SimpleImputer" and transformer.add_indicator:
            raise _UnmappableError("SimpleImputer(add_indicator=True) adds columns")
        n_out = len(transformer.get_feature_names_out())
        if n_out != len(names):
            raise _UnmappableError(f"{kind} changes the number of columns")
        return list(range(len(names)))
    raise _UnmappableError(f"cannot map the outputs of {kind} back to input features")


def _column_transformer_origins(transformer: Any, names: list[str]) -> list[int]:

    width = sum(
        s.stop - s.start for s in transformer.output_indices_.values() if isinstance(s, slice)
    )
    origins: list[int | None] = [None] * width
    position = {name: i for i, name in enumerate(names)}
    for name, part, selection in transformer.transformers_:
        if part == "drop":
            continue
        selected = [position[c] for c in selected_columns(selection, names) if c in position]
        span = transformer.output_indices_[name]
        if span.stop == span.start:
            continue
        inner = (
            list(range(len(selected)))
            if part == "passthrough"
            else _origins(part, [names[i] for i in selected])
        )
        for offset, origin in enumerate(inner):
            origins[span.start + offset] = selected[origin]
    if any(origin is None for origin in origins):
        raise _UnmappableError("a ColumnTransformer output could not be traced to its input")
    return [origin for origin in origins if origin is not None]
