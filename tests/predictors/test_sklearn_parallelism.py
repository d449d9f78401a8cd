"""Which scikit-learn models score in threads (vectorized steps only) and which in processes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from model_zoo import CATEGORICAL, FEATURES, NUMERIC, BuiltModel, linear_pipeline, training_frame
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from scorecast.predictors.sklearn_parallelism import scoring_parallelism


class MinMaxScaler(StandardScaler):  # a user's class that shares a vectorized step's name
    pass


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("skops_linear_binary", "threads"),
        ("skops_linear_regression", "threads"),
        ("skops_hgb_multiclass", "threads"),
        ("pickle_linear_binary", "threads"),
        ("skops_forest_binary", "processes"),
    ],
)
def test_zoo_models_score_where_the_policy_says(
    zoo: dict[str, BuiltModel], name: str, expected: str
) -> None:
    assert scoring_parallelism(zoo[name].model) == expected


def _fitted(numeric_step: Any, *, remainder: str = "drop") -> Any:
    frame = training_frame()
    pre = make_column_transformer(
        (numeric_step, NUMERIC), (OneHotEncoder(), CATEGORICAL), remainder=remainder
    )
    return make_pipeline(pre, LogisticRegression()).fit(frame[FEATURES], frame.y_bin)


@pytest.mark.parametrize(
    ("numeric_step", "expected"),
    [
        (StandardScaler(), "threads"),
        (make_union(StandardScaler(), make_pipeline(StandardScaler())), "threads"),
        (make_pipeline("passthrough", StandardScaler()), "threads"),
        (FunctionTransformer(), "threads"),  # no function: the identity
        (FunctionTransformer(np.tanh), "processes"),  # Python code may hold the GIL
        (make_pipeline(StandardScaler(), FunctionTransformer(np.abs)), "processes"),
        (MinMaxScaler(), "processes"),  # not scikit-learn's
    ],
)
def test_one_step_outside_the_vectorized_ones_sends_the_model_to_processes(
    numeric_step: Any, expected: str
) -> None:
    assert scoring_parallelism(_fitted(numeric_step)) == expected


def test_the_remainder_of_a_column_transformer_counts_as_a_step() -> None:
    frame = training_frame()
    pre = make_column_transformer(
        (OneHotEncoder(), CATEGORICAL), remainder=FunctionTransformer(np.tanh)
    )
    model = make_pipeline(pre, LogisticRegression()).fit(frame[FEATURES], frame.y_bin)
    assert scoring_parallelism(model) == "processes"
    assert scoring_parallelism(linear_pipeline("binary")) == "threads"  # unfitted: no remainder
