"""Registration: format detection, target checks, trust, descriptions, explanations."""

from __future__ import annotations

import json
import operator
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from model_zoo import FEATURES, NUMERIC, BuiltModel, linear_pipeline, training_frame

from scorecast.domain.scoring_options import ScoringOptions, check_against_model
from scorecast.errors import InvalidInput, ModelLoadError
from scorecast.predictors import ModelDescription, describe_model, detect_format, load_predictor
from scorecast.predictors.base import Feature, sha256_of


def _describe(model: BuiltModel, **overrides):
    arguments = {
        "target": "y",
        "target_type": model.target_type,
        "positive_class": None,
        "trust_pickle": model.trust_pickle,
    }
    arguments.update(overrides)
    return describe_model(model.path, **arguments)


def test_description_records_what_the_issue_lists(zoo: dict[str, BuiltModel]) -> None:
    model = zoo["skops_linear_binary"]
    description = _describe(model)
    assert description.format == "skops"
    assert description.target == "y" and description.target_type == "binary"
    assert description.class_labels == ["no", "yes"]
    assert description.positive_class == "yes"
    assert description.prediction_threshold == 0.5
    assert description.features == [
        Feature("num_a"),
        Feature("num_b"),
        Feature("num_c"),
        Feature("cat_a", "categorical"),
    ]
    assert description.sha256 == sha256_of(model.path)
    assert description.can_explain
    assert description.parallelism == "threads"  # a linear pipeline
    restored = ModelDescription.from_dict(json.loads(json.dumps(description.to_dict())))
    assert restored == description


@given(
    low=st.floats(-1e6, 1e6),
    width=st.floats(0, 1e6),
    labels=st.lists(st.text(min_size=1, max_size=5), max_size=4, unique=True),
    trust=st.booleans(),
)
def test_description_json_round_trip(
    low: float, width: float, labels: list[str], trust: bool
) -> None:
    description = ModelDescription(
        format="onnx",
        target="t",
        target_type="regression",
        features=[Feature(label or "x") for label in labels],
        sha256="0" * 64,
        class_labels=labels,
        trust_pickle=trust,
        prediction_range=(low, low + width),
        details={"inputs": {"a": "tensor(float)"}},
    )
    assert ModelDescription.from_dict(json.loads(json.dumps(description.to_dict()))) == description


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("skops_linear_binary", "skops"),
        ("pickle_linear_binary", "pickle"),
        ("onnx_linear_binary", "onnx"),
        ("lightgbm_binary", "lightgbm"),
        ("xgboost_binary", "xgboost"),
    ],
)
def test_format_is_detected_by_content_even_without_extension(
    zoo: dict[str, BuiltModel], tmp_path: Path, name: str, fmt: str
) -> None:
    assert detect_format(zoo[name].path) == fmt
    bare = tmp_path / "artifact"
    shutil.copy(zoo[name].path, bare)
    if fmt != "onnx":  # ONNX has no magic bytes: it needs its extension
        assert detect_format(bare) == fmt


@pytest.mark.parametrize(
    ("name", "declared"),
    [
        ("skops_linear_regression", "binary"),
        ("skops_linear_binary", "regression"),
        ("skops_linear_multiclass", "binary"),
        ("skops_linear_binary", "multiclass"),
        ("onnx_linear_regression", "binary"),
        ("lightgbm_regression", "binary"),
        ("xgboost_multiclass", "regression"),
    ],
)
def test_a_model_contradicting_its_target_type_is_refused(
    zoo: dict[str, BuiltModel], name: str, declared: str
) -> None:
    with pytest.raises(ModelLoadError, match="declared"):
        _describe(zoo[name], target_type=declared)


def test_positive_class_must_be_a_class(zoo: dict[str, BuiltModel]) -> None:
    with pytest.raises(ModelLoadError, match="positive class 'maybe'"):
        _describe(zoo["skops_linear_binary"], positive_class="maybe")
    assert _describe(zoo["skops_linear_binary"], positive_class="no").positive_class == "no"


def test_pickle_needs_trust(zoo: dict[str, BuiltModel]) -> None:
    with pytest.raises(ModelLoadError, match="trust-pickle"):
        _describe(zoo["pickle_linear_binary"], trust_pickle=False)
    assert _describe(zoo["pickle_linear_binary"]).trust_pickle is True


def test_skops_refuses_untrusted_types_and_lists_them(tmp_path: Path) -> None:
    import skops.io
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame = training_frame()
    model = make_pipeline(FunctionTransformer(operator.neg), LinearRegression())
    model.fit(frame[NUMERIC], frame.y_reg)
    path = tmp_path / "untrusted.skops"
    skops.io.dump(model, path)
    with pytest.raises(ModelLoadError, match=r"_operator\.neg") as caught:
        describe_model(path, target="y", target_type="regression", positive_class=None)
    assert "_operator.neg" in caught.value.errors["untrustedTypes"]


def test_skops_refuses_a_function_named_under_sklearn(tmp_path: Path) -> None:
    """A name under ``sklearn.`` is trusted only when it is a class scikit-learn defines: here
    ``subprocess.check_output``, which ``sklearn.utils._testing`` imports, renamed into that
    module in the file's schema, would run a shell command named by a column (as the file's
    author meant) once a job transformed its rows. It is refused when the model is described,
    and nothing runs."""
    import subprocess

    import skops.io
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    canary = tmp_path / "ran"
    frame = pd.DataFrame({f"touch {canary}": [1.0, 2.0, 3.0]})
    model = make_pipeline(FunctionTransformer(validate=False), LinearRegression())
    model.fit(frame, [1.0, 2.0, 3.0])
    model.steps[0][1].func = subprocess.check_output
    model.steps[0][1].kw_args = {"shell": True}
    plain = tmp_path / "plain.skops"
    skops.io.dump(model, plain)
    renamed = tmp_path / "renamed.skops"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(renamed, "w") as target:
        for member in source.namelist():
            data = source.read(member)
            if member == "schema.json":
                data = data.replace(b'"subprocess"', b'"sklearn.utils._testing"')
            target.writestr(member, data)
    name = "sklearn.utils._testing.check_output"
    assert name in skops.io.get_untrusted_types(file=renamed)
    with pytest.raises(ModelLoadError, match=re.escape(name)) as caught:
        describe_model(renamed, target="y", target_type="regression", positive_class=None)
    assert name in caught.value.errors["untrustedTypes"]
    assert not canary.exists()


def test_skops_loads_scikit_learns_own_score_functions_and_dtypes(tmp_path: Path) -> None:
    """What plain models hold and the trusted-types check must let through: a feature
    selection's score function, a scorer's metric, a ``SimpleImputer``'s dtype."""
    import skops.io
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, make_scorer
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    frame = training_frame()
    pipeline = make_pipeline(SimpleImputer(), SelectKBest(f_classif, k=2), LogisticRegression())
    search = GridSearchCV(
        pipeline,
        {"logisticregression__C": [0.5, 1.0]},
        scoring=make_scorer(f1_score, pos_label="yes"),
        cv=2,
    )
    search.fit(frame[NUMERIC], frame.y_bin)
    path = tmp_path / "selected.skops"
    skops.io.dump(search.best_estimator_, path)
    found = describe_model(path, target="y", target_type="binary", positive_class="yes")
    assert found.target_type == "binary"
    scorer = tmp_path / "scorer.skops"
    skops.io.dump(search, scorer)
    assert describe_model(scorer, target="y", target_type="binary", positive_class="yes")


def test_skops_refuses_scikit_learns_other_functions(tmp_path: Path) -> None:
    """A function of scikit-learn outside its metrics and feature selection (this one writes
    a file named by its arguments) is as untrusted as any other."""
    import skops.io
    from sklearn.datasets import dump_svmlight_file
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame = training_frame()
    model = make_pipeline(FunctionTransformer(dump_svmlight_file), LinearRegression())
    model.steps[1][1].fit(frame[NUMERIC], frame.y_reg)
    path = tmp_path / "writes.skops"
    skops.io.dump(model, path)
    with pytest.raises(ModelLoadError, match="dump_svmlight_file"):
        describe_model(path, target="y", target_type="regression", positive_class=None)


def test_unloadable_and_unknown_artifacts(tmp_path: Path) -> None:
    garbage = tmp_path / "model.onnx"
    garbage.write_bytes(b"this is not a model")
    with pytest.raises(ModelLoadError, match="ONNX"):
        describe_model(garbage, target="y", target_type="binary", positive_class=None)
    unknown = tmp_path / "model.bin"
    unknown.write_bytes(b"\x00\x01")
    with pytest.raises(ModelLoadError, match="cannot tell the model format"):
        describe_model(unknown, target="y", target_type="binary", positive_class=None)
    with pytest.raises(ModelLoadError, match="does not exist"):
        describe_model(
            tmp_path / "nope.onnx", target="y", target_type="binary", positive_class=None
        )


def test_declaration_errors_name_the_field(zoo: dict[str, BuiltModel]) -> None:
    model = zoo["skops_linear_regression"]
    with pytest.raises(ModelLoadError) as caught:
        _describe(model, target_type="ordinal")
    assert "targetType" in caught.value.errors
    with pytest.raises(ModelLoadError) as caught:
        _describe(model, prediction_range=(2.0, 1.0))
    assert "predictionRange" in caught.value.errors


def _contributions_check(model: BuiltModel, description: ModelDescription) -> None:
    frame = training_frame(50, seed=5)
    predictor = load_predictor(model.path, description)
    features = pa.RecordBatch.from_pandas(frame[description.feature_names], preserve_index=False)
    probabilities = predictor.predict(features)
    if description.target_type == "multiclass":
        class_index = probabilities.argmax(axis=1)
    else:
        class_index = np.zeros(len(frame), dtype=np.intp)
    contributions = predictor.explain(features, class_index)
    assert contributions.shape == (len(frame), len(description.features))
    inputs = frame[description.feature_names]
    if model.name in ("skops", "pickle"):
        decision = (
            model.model.decision_function(inputs)
            if description.target_type != "regression"
            else model.model.predict(inputs)
        )
        intercept = np.atleast_1d(model.model[-1].intercept_)
        if description.target_type == "multiclass":
            expected = decision[np.arange(len(frame)), class_index] - intercept[class_index]
        else:
            expected = decision - intercept[0]
    elif model.name == "lightgbm":
        raw = model.model.predict(inputs.to_numpy(), raw_score=True)
        full = model.model.predict(inputs.to_numpy(), pred_contrib=True)
        width = len(description.features) + 1
        if description.target_type == "multiclass":
            raw = raw[np.arange(len(frame)), class_index]
            bias = full.reshape(len(frame), -1, width)[np.arange(len(frame)), class_index, -1]
        else:
            bias = full[:, -1]
        expected = raw - bias
    else:  # xgboost
        import xgboost as xgb

        booster = model.model.get_booster()
        matrix = xgb.DMatrix(inputs, feature_names=NUMERIC)
        margin = booster.predict(matrix, output_margin=True)
        full = booster.predict(matrix, pred_contribs=True)
        if description.target_type == "multiclass":
            margin = margin[np.arange(len(frame)), class_index]
            bias = full[np.arange(len(frame)), class_index, -1]
        else:
            bias = full[:, -1]
        expected = margin - bias
    np.testing.assert_allclose(contributions.sum(axis=1), expected, atol=1e-5)


@pytest.mark.parametrize(
    "name",
    [
        f"{kind}_{target}"
        for kind in ("skops_linear", "pickle_linear", "lightgbm", "xgboost")
        for target in ("regression", "binary", "multiclass")
    ],
)
def test_explanations_add_up_to_the_models_margin(zoo: dict[str, BuiltModel], name: str) -> None:
    model = zoo[name]
    description = _describe(model)
    assert description.can_explain
    _contributions_check(model, description)


def test_linear_contributions_are_coef_times_standardized_value(
    zoo: dict[str, BuiltModel],
) -> None:
    model = zoo["skops_linear_regression"]
    description = _describe(model)
    frame = training_frame(20, seed=2)
    batch = pa.RecordBatch.from_pandas(frame[FEATURES], preserve_index=False)
    contributions = load_predictor(model.path, description).explain(
        batch, np.zeros(20, dtype=np.intp)
    )
    scaler = model.model[0].named_transformers_["standardscaler"]
    coef = model.model[-1].coef_
    expected_a = coef[0] * (frame.num_a - scaler.mean_[0]) / scaler.scale_[0]
    np.testing.assert_allclose(contributions[:, 0], expected_a, atol=1e-9)


@pytest.mark.parametrize("name", ["onnx_linear_binary"])
def test_models_that_cannot_explain_get_a_422_that_says_why(
    zoo: dict[str, BuiltModel], name: str
) -> None:
    description = _describe(zoo[name])
    assert not description.can_explain
    assert description.explain_unavailable_reason
    with pytest.raises(InvalidInput, match=description.explain_unavailable_reason[:20]) as caught:
        check_against_model(ScoringOptions(max_explanations=3), description, None)
    assert "maxExplanations" in caught.value.errors


mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")


@pytest.mark.parametrize("packed", [False, True])
def test_mlflow_sklearn_model_directory_and_zip(tmp_path: Path, packed: bool) -> None:
    import mlflow.sklearn

    frame = training_frame()
    model = linear_pipeline("binary").fit(frame[FEATURES], frame.y_bin)
    directory = tmp_path / "mlflow_model"
    with warnings.catch_warnings():  # mlflow's own warnings about pickles and type hints
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(model, str(directory), serialization_format="cloudpickle")
    artifact = directory
    if packed:
        artifact = tmp_path / "model.zip"
        with zipfile.ZipFile(artifact, "w") as archive:
            for file in directory.rglob("*"):
                archive.write(file, Path("mlflow_model") / file.relative_to(directory))
    assert detect_format(artifact) == "mlflow"
    with pytest.raises(ModelLoadError, match="trust"):
        describe_model(artifact, target="y", target_type="binary", positive_class=None)
    description = describe_model(
        artifact, target="y", target_type="binary", positive_class=None, trust_pickle=True
    )
    assert description.format == "mlflow" and description.class_labels == ["no", "yes"]
    sample = training_frame(40, seed=9)
    batch = pa.RecordBatch.from_pandas(sample[FEATURES], preserve_index=False)
    got = load_predictor(artifact, description).predict(batch)
    np.testing.assert_allclose(got, model.predict_proba(sample[FEATURES]), atol=1e-9)


def test_the_same_file_declared_twice_loads_two_predictors(zoo: dict[str, BuiltModel]) -> None:
    # One artifact registered twice with different positive classes: each deployment must get
    # a predictor built from its own declaration (explanation signs follow the positive class).
    model = zoo["skops_linear_binary"]
    as_yes = _describe(model, positive_class="yes")
    as_no = _describe(model, positive_class="no")
    first = load_predictor(model.path, as_yes)
    second = load_predictor(model.path, as_no)
    assert first.description.positive_class == "yes"
    assert second.description.positive_class == "no"
    assert load_predictor(model.path, as_yes) is first
