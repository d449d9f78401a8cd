"""Saabas contributions of scikit-learn tree models add up exactly to the raw model output."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from model_zoo import (
    CATEGORICAL,
    FEATURES,
    NUMERIC,
    TARGETS,
    TREE_FAMILIES,
    BuiltModel,
    training_frame,
    tree_pipeline,
)

from scorecast.domain.scoring_options import ScoringOptions, check_against_model
from scorecast.predictors import describe_model, load_predictor
from scorecast.predictors.sklearn_tree_explain import TreeExplainer

#: families whose scikit-learn implementation routes missing values (GradientBoosting does not)
_TAKES_NAN = ("DecisionTree", "ExtraTree", "RandomForest", "ExtraTrees", "HistGradientBoosting")


def _with_gaps(frame: pd.DataFrame, family: str, seed: int) -> pd.DataFrame:
    """``frame`` with a constant never-split column and, where supported, missing values."""
    frame = frame.copy()
    frame["constant"] = 1.0
    if family in _TAKES_NAN:
        rng = np.random.default_rng(seed)
        for column in NUMERIC:
            frame.loc[rng.random(len(frame)) < 0.1, column] = np.nan
    return frame


def _raw_output(pipeline: Any, inputs: pd.DataFrame, kind: str) -> np.ndarray[Any, Any]:
    """``(n, outputs)``: the margin of boosted models, probability or prediction otherwise."""
    model = pipeline[-1]
    family = type(model).__name__
    if family.startswith("HistGradientBoosting"):
        return np.asarray(model._raw_predict(pipeline[:-1].transform(inputs)))
    if kind == "regression":
        return np.asarray(pipeline.predict(inputs)).reshape(-1, 1)
    if family.startswith("GradientBoosting"):
        return np.asarray(pipeline.decision_function(inputs)).reshape(len(inputs), -1)
    probabilities = np.asarray(pipeline.predict_proba(inputs))
    return probabilities[:, 1:] if kind == "binary" else probabilities


_FEATURES = [*FEATURES, "constant"]


@pytest.fixture(scope="module")
def fitted() -> dict[tuple[str, str], Any]:
    return {
        (family, kind): tree_pipeline(family, kind).fit(
            (data := _with_gaps(training_frame(300), family, seed=1))[_FEATURES], data[target]
        )
        for family in TREE_FAMILIES
        for kind, target in TARGETS.items()
    }


@pytest.mark.parametrize("kind", list(TARGETS))
@pytest.mark.parametrize("family", TREE_FAMILIES)
@pytest.mark.parametrize("seed", [3, 11])
def test_contributions_and_expected_value_add_up_to_the_raw_output(
    fitted: dict[tuple[str, str], Any], family: str, kind: str, seed: int
) -> None:
    pipeline = fitted[family, kind]
    explainer = TreeExplainer.build(pipeline, _FEATURES)
    assert isinstance(explainer, TreeExplainer), explainer
    rows = _with_gaps(training_frame(80, seed=seed), family, seed=seed)[_FEATURES]
    raw = _raw_output(pipeline, rows, kind)
    for class_row in range(raw.shape[1]):
        contributions = explainer.contributions(rows, class_row)
        assert contributions.shape == (len(rows), len(_FEATURES))
        np.testing.assert_allclose(
            contributions.sum(axis=1) + explainer.expected_value(class_row),
            raw[:, class_row],
            rtol=0,
            atol=1e-6,
        )
        assert np.all(contributions[:, _FEATURES.index("constant")] == 0.0)
        # the model depends on num_a and num_b: they get credit somewhere
        assert np.abs(contributions[:, :2]).max() > 0


@pytest.mark.parametrize("family", ["DecisionTree", "RandomForest", "ExtraTrees"])
def test_sparse_model_inputs_give_the_same_contributions(family: str) -> None:
    data = training_frame(300)
    rows = training_frame(40, seed=4)[FEATURES]
    dense = tree_pipeline(family, "multiclass").fit(data[FEATURES], data.y_multi)
    sparse = tree_pipeline(family, "multiclass", sparse=True).fit(data[FEATURES], data.y_multi)
    explain_dense = TreeExplainer.build(dense, FEATURES)
    explain_sparse = TreeExplainer.build(sparse, FEATURES)
    assert isinstance(explain_dense, TreeExplainer) and isinstance(explain_sparse, TreeExplainer)
    for class_row in range(3):
        np.testing.assert_allclose(
            explain_sparse.contributions(rows, class_row),
            explain_dense.contributions(rows, class_row),
            atol=1e-12,
        )


@pytest.mark.parametrize("family", ["DecisionTree", "HistGradientBoosting"])
def test_expected_value_is_the_mean_training_output(family: str) -> None:
    """Internal node values are training means: the root is the mean over the training rows."""
    data = training_frame(300)
    pipeline = tree_pipeline(family, "regression")
    if family == "HistGradientBoosting":
        pipeline[-1].set_params(l2_regularization=0.0)
    pipeline.fit(data[FEATURES], data.y_reg)
    explainer = TreeExplainer.build(pipeline, FEATURES)
    assert isinstance(explainer, TreeExplainer)
    mean_output = _raw_output(pipeline, data[FEATURES], "regression").mean()
    assert explainer.expected_value(0) == pytest.approx(mean_output, abs=1e-9)


def test_a_single_split_credits_its_feature_with_the_leaf_minus_the_mean() -> None:
    from sklearn.tree import DecisionTreeRegressor

    data = training_frame(200)
    model = DecisionTreeRegressor(max_depth=1).fit(data[NUMERIC], data.y_reg)
    explainer = TreeExplainer.build(model, NUMERIC)
    assert isinstance(explainer, TreeExplainer)
    split = NUMERIC[model.tree_.feature[0]]
    rows = training_frame(30, seed=8)[NUMERIC]
    contributions = explainer.contributions(rows, 0)
    expected = model.predict(rows) - data.y_reg.mean()
    np.testing.assert_allclose(contributions[:, NUMERIC.index(split)], expected, atol=1e-9)
    others = [i for i, name in enumerate(NUMERIC) if name != split]
    assert np.all(contributions[:, others] == 0.0)


@pytest.mark.parametrize("kind", list(TARGETS))
def test_hist_gradient_boosting_categorical_splits_unknown_and_missing_categories(
    kind: str,
) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    data = training_frame(400)
    data.loc[::9, "cat_a"] = None
    pre = make_column_transformer(
        (
            OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=-1,
                encoded_missing_value=np.nan,
            ),
            CATEGORICAL,
        ),
        remainder="passthrough",
    )
    model_type = (
        HistGradientBoostingRegressor if kind == "regression" else HistGradientBoostingClassifier
    )
    pipeline = make_pipeline(pre, model_type(max_iter=10, categorical_features=[0]))
    pipeline.fit(data[FEATURES], data[TARGETS[kind]])
    assert any(
        node["is_categorical"]
        for tree in pipeline[-1]._predictors
        for p in tree
        for node in p.nodes
    )
    explainer = TreeExplainer.build(pipeline, FEATURES)
    assert isinstance(explainer, TreeExplainer), explainer
    rows = training_frame(60, seed=6)[FEATURES]
    rows.loc[::4, "cat_a"] = "purple"  # unknown: encoded -1
    rows.loc[1::5, "cat_a"] = None
    raw = _raw_output(pipeline, rows, kind)
    for class_row in range(raw.shape[1]):
        np.testing.assert_allclose(
            explainer.contributions(rows, class_row).sum(axis=1)
            + explainer.expected_value(class_row),
            raw[:, class_row],
            atol=1e-6,
        )


@pytest.mark.parametrize("kind", list(TARGETS))
def test_the_predictor_explains_the_saved_hist_gradient_boosting_pipeline(
    zoo: dict[str, BuiltModel], kind: str
) -> None:
    model = zoo[f"skops_hgb_{kind}"]
    description = describe_model(model.path, target="y", target_type=kind, positive_class=None)
    assert description.can_explain and description.explain_unavailable_reason is None
    check_against_model(ScoringOptions(max_explanations=3), description, None)
    frame = training_frame(50, seed=5)[FEATURES]
    batch = pa.RecordBatch.from_pandas(frame, preserve_index=False)
    predictor = load_predictor(model.path, description)
    class_index = (
        predictor.predict(batch).argmax(axis=1)
        if kind == "multiclass"
        else np.zeros(len(frame), dtype=np.intp)
    )
    contributions = predictor.explain(batch, class_index)
    explainer = TreeExplainer.build(model.model, FEATURES)
    assert isinstance(explainer, TreeExplainer)
    raw = _raw_output(model.model, frame, kind)
    picked = raw[np.arange(len(frame)), class_index]
    expected = np.array([explainer.expected_value(int(k)) for k in class_index])
    np.testing.assert_allclose(contributions.sum(axis=1), picked - expected, atol=1e-6)


def test_binary_explanations_speak_for_the_declared_positive_class(
    zoo: dict[str, BuiltModel], tmp_path: Path
) -> None:
    model = zoo["skops_hgb_binary"]
    frame = training_frame(20, seed=9)[FEATURES]
    batch = pa.RecordBatch.from_pandas(frame, preserve_index=False)
    zeros = np.zeros(len(frame), dtype=np.intp)
    by_positive = {}
    for positive in ("yes", "no"):
        # loaded predictors are cached per artifact file: one copy per declaration
        path = tmp_path / f"{positive}.skops"
        shutil.copyfile(model.path, path)
        description = describe_model(
            path, target="y", target_type="binary", positive_class=positive
        )
        by_positive[positive] = load_predictor(path, description).explain(batch, zeros)
    np.testing.assert_allclose(by_positive["no"], -by_positive["yes"], atol=1e-12)
    assert np.abs(by_positive["yes"]).max() > 0


def test_preprocessing_that_cannot_be_traced_back_is_refused_with_the_reason() -> None:
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline

    data = training_frame(100)
    pipeline = make_pipeline(PCA(2), RandomForestRegressor(n_estimators=3)).fit(
        data[NUMERIC], data.y_reg
    )
    reason = TreeExplainer.build(pipeline, NUMERIC)
    assert isinstance(reason, str) and "PCA" in reason


def test_many_rows_through_many_trees_are_explained_in_blocks_that_still_add_up() -> None:
    from sklearn.ensemble import ExtraTreesClassifier

    data = training_frame(300)
    model = ExtraTreesClassifier(n_estimators=400, max_depth=2, random_state=0)
    model.fit(data[NUMERIC], data.y_multi)
    explainer = TreeExplainer.build(model, NUMERIC)
    assert isinstance(explainer, TreeExplainer)
    rows = training_frame(1_200, seed=12)[NUMERIC]  # more rows than one block of 400 trees
    probabilities = model.predict_proba(rows)
    for class_row in range(3):
        total = explainer.contributions(rows, class_row).sum(axis=1)
        np.testing.assert_allclose(
            total + explainer.expected_value(class_row), probabilities[:, class_row], atol=1e-6
        )
