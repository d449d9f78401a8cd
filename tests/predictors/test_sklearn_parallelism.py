"""Which scikit-learn models score in threads and which in worker processes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from model_zoo import CATEGORICAL, FEATURES, NUMERIC, BuiltModel, training_frame, tree_pipeline
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder, StandardScaler

from scorecast.predictors.sklearn_parallelism import scoring_parallelism


class MinMaxScaler(StandardScaler):  # a user's class that shares a vectorized step's name
    pass


class HistGradientBoostingRegressor(HistGradientBoostingClassifier):  # the same, for the model
    pass


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("skops_hgb_binary", "threads"),
        ("skops_hgb_multiclass", "threads"),
        ("skops_hgb_regression", "threads"),
        ("skops_linear_binary", "threads"),
        ("skops_linear_regression", "threads"),
        ("pickle_linear_binary", "threads"),
        ("skops_forest_binary", "processes"),
    ],
)
def test_zoo_models_score_where_the_policy_says(
    zoo: dict[str, BuiltModel], name: str, expected: str
) -> None:
    assert scoring_parallelism(zoo[name].model) == expected


def _fitted(numeric_step: Any, model: Any = None) -> Any:
    frame = training_frame()
    pre = make_column_transformer((numeric_step, NUMERIC), (OrdinalEncoder(), CATEGORICAL))
    final = model if model is not None else HistGradientBoostingClassifier(max_iter=5)
    return make_pipeline(pre, final).fit(frame[FEATURES], frame.y_bin)


@pytest.mark.parametrize(
    ("numeric_step", "expected"),
    [
        (StandardScaler(), "threads"),
        (make_union(StandardScaler(), make_pipeline(StandardScaler())), "threads"),
        (make_pipeline("passthrough", StandardScaler()), "threads"),
        ("passthrough", "threads"),  # fitted, an identity FunctionTransformer
        (FunctionTransformer(), "threads"),  # no function: the identity
        (FunctionTransformer(np.tanh), "processes"),  # Python code may hold the GIL
        (make_pipeline(StandardScaler(), FunctionTransformer(np.abs)), "processes"),
        (MinMaxScaler(), "processes"),  # not scikit-learn's
    ],
)
def test_a_threaded_model_scores_in_threads_only_behind_vectorized_steps(
    numeric_step: Any, expected: str
) -> None:
    assert scoring_parallelism(_fitted(numeric_step)) == expected


@pytest.mark.parametrize(
    "model",
    [
        KNeighborsClassifier(),  # not known to leave the GIL free
        HistGradientBoostingRegressor(max_iter=5),  # not scikit-learn's
    ],
)
def test_other_final_estimators_score_in_processes(model: Any) -> None:
    assert scoring_parallelism(_fitted(StandardScaler(), model)) == "processes"


def test_the_remainder_of_a_column_transformer_counts_as_a_step() -> None:
    frame = training_frame()
    for remainder, expected in (
        ("passthrough", "threads"),
        (FunctionTransformer(np.tanh), "processes"),
    ):
        pre = make_column_transformer(
            (OrdinalEncoder(), CATEGORICAL), remainder=remainder
        )  # the numeric columns go to the remainder
        model = make_pipeline(pre, HistGradientBoostingClassifier(max_iter=5))
        model.fit(frame[FEATURES], frame.y_bin)
        assert scoring_parallelism(model) == expected


def test_a_bare_estimator_is_its_own_final_step() -> None:
    frame = training_frame()
    bare = HistGradientBoostingClassifier(max_iter=5).fit(frame[NUMERIC], frame.y_bin)
    assert scoring_parallelism(bare) == "threads"
    assert scoring_parallelism(tree_pipeline("RandomForest", "binary")) == "processes"


def test_a_linear_model_behind_vectorized_steps_scores_in_threads() -> None:
    assert scoring_parallelism(_fitted(StandardScaler(), LogisticRegression())) == "threads"
    with_python_step = _fitted(FunctionTransformer(np.tanh), LogisticRegression())
    assert scoring_parallelism(with_python_step) == "processes"
