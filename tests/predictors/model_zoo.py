"""Models built in the test session: one training set, every format and target type.

``shared_zoo`` builds them once per test run: pytest-xdist's workers (and the engine's and the
predictors' tests) share one folder, whose first user builds the models under a lock.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

NUMERIC = ["num_a", "num_b", "num_c"]
CATEGORICAL = ["cat_a"]
FEATURES = NUMERIC + CATEGORICAL


def training_frame(rows: int = 400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "num_a": rng.normal(size=rows),
            "num_b": rng.normal(2.0, 3.0, size=rows),
            "num_c": rng.uniform(-1, 1, size=rows),
            "cat_a": rng.choice(["red", "green", "blue"], size=rows),
        }
    )
    signal = frame.num_a - 0.3 * frame.num_b + (frame.cat_a == "red") * 1.5
    frame["y_reg"] = signal + rng.normal(scale=0.1, size=rows)
    frame["y_bin"] = np.where(signal + rng.normal(size=rows) > 0, "yes", "no")
    frame["y_multi"] = pd.cut(
        signal, [-np.inf, -1, 0.5, np.inf], labels=["lo", "mid", "hi"]
    ).astype(str)
    frame["y_int"] = (signal > 0).astype(int)
    return frame


@dataclass
class BuiltModel:
    name: str
    path: Path
    target_type: str
    model: Any  # the object whose predict/predict_proba is the golden reference
    features: list[str]
    positive_class: str | None = None
    trust_pickle: bool = False


def linear_pipeline(kind: str) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = make_column_transformer(
        (StandardScaler(), NUMERIC), (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)
    )
    return make_pipeline(pre, Ridge() if kind == "regression" else LogisticRegression())


def hgb_pipeline(kind: str) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    pre = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), CATEGORICAL),
        remainder="passthrough",
    )
    model = (
        HistGradientBoostingRegressor(max_iter=20)
        if kind == "regression"
        else HistGradientBoostingClassifier(max_iter=20)
    )
    return make_pipeline(pre, model)


TARGETS = {"regression": "y_reg", "binary": "y_bin", "multiclass": "y_multi"}


def build_all(directory: Path) -> dict[str, BuiltModel]:
    import joblib
    import lightgbm as lgb
    import skops.io
    import xgboost as xgb
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    frame = training_frame()
    built: dict[str, BuiltModel] = {}
    for kind, target in TARGETS.items():
        linear = linear_pipeline(kind).fit(frame[FEATURES], frame[target])
        path = directory / f"linear_{kind}.skops"
        skops.io.dump(linear, path)
        built[f"skops_linear_{kind}"] = BuiltModel("skops", path, kind, linear, FEATURES)

        hgb = hgb_pipeline(kind).fit(frame[FEATURES], frame[target])
        path = directory / f"hgb_{kind}.skops"
        skops.io.dump(hgb, path)
        built[f"skops_hgb_{kind}"] = BuiltModel("skops", path, kind, hgb, FEATURES)

        # a model scored in worker processes, not threads (predictors.sklearn_parallelism)
        forest = tree_pipeline("RandomForest", kind).fit(frame[FEATURES], frame[target])
        path = directory / f"forest_{kind}.skops"
        skops.io.dump(forest, path)
        built[f"skops_forest_{kind}"] = BuiltModel("skops", path, kind, forest, FEATURES)

        path = directory / f"linear_{kind}.joblib"
        joblib.dump(linear, path)
        built[f"pickle_linear_{kind}"] = BuiltModel(
            "pickle", path, kind, linear, FEATURES, trust_pickle=True
        )

        types = [(n, FloatTensorType([None, 1])) for n in NUMERIC] + [
            (n, StringTensorType([None, 1])) for n in CATEGORICAL
        ]
        options = {"zipmap": kind != "multiclass"} if kind != "regression" else None
        onnx_model = to_onnx(linear, initial_types=types, options=options, target_opset=17)
        path = directory / f"linear_{kind}.onnx"
        path.write_bytes(onnx_model.SerializeToString())
        built[f"onnx_linear_{kind}"] = BuiltModel("onnx", path, kind, path, FEATURES)

        numeric = frame[NUMERIC]
        labels = {"regression": frame.y_reg, "binary": frame.y_int, "multiclass": None}[kind]
        if kind == "multiclass":
            labels = frame.y_multi.map({"lo": 0, "mid": 1, "hi": 2})
        params = {
            "regression": {"objective": "regression"},
            "binary": {"objective": "binary"},
            "multiclass": {"objective": "multiclass", "num_class": 3},
        }[kind]
        booster = lgb.train(
            {**params, "verbose": -1, "num_leaves": 7}, lgb.Dataset(numeric, labels), 15
        )
        path = directory / f"lgb_{kind}.txt"
        booster.save_model(str(path))
        built[f"lightgbm_{kind}"] = BuiltModel("lightgbm", path, kind, booster, NUMERIC)

        xgb_model = (
            xgb.XGBRegressor(n_estimators=15, max_depth=3)
            if kind == "regression"
            else xgb.XGBClassifier(n_estimators=15, max_depth=3)
        ).fit(numeric, labels)
        path = directory / f"xgb_{kind}.json"
        xgb_model.get_booster().save_model(str(path))
        built[f"xgboost_{kind}"] = BuiltModel("xgboost", path, kind, xgb_model, NUMERIC)
    return built


#: every scikit-learn tree model family that scorecast explains exactly
TREE_FAMILIES = (
    "DecisionTree",
    "ExtraTree",
    "RandomForest",
    "ExtraTrees",
    "GradientBoosting",
    "HistGradientBoosting",
)


def tree_pipeline(family: str, kind: str, *, sparse: bool = False) -> Any:
    """A small ``one-hot → tree model`` pipeline of ``family`` for target ``kind``."""
    from sklearn import ensemble, tree
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    suffix = "Regressor" if kind == "regression" else "Classifier"
    module = tree if family in ("DecisionTree", "ExtraTree") else ensemble
    options: dict[str, Any] = {"random_state": 0}
    if family in ("RandomForest", "ExtraTrees", "GradientBoosting"):
        options["n_estimators"] = 8
    if family == "HistGradientBoosting":
        options["max_iter"] = 8
    elif family != "GradientBoosting":
        options["max_depth"] = 5
    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=sparse), CATEGORICAL),
        remainder="passthrough",
        sparse_threshold=1.0 if sparse else 0.0,
    )
    return make_pipeline(pre, getattr(module, family + suffix)(**options))


def shared_zoo(tmp_path_factory: Any, worker_id: str) -> dict[str, BuiltModel]:
    """``build_all`` once per test run, in a folder every pytest-xdist worker of the run shares
    (the parent of the workers' own temporary folders); the first worker builds and pickles
    the models (the in-memory reference objects too) under an exclusive lock, the others load
    them. Tests never write into the folder: those that change a model file copy it first."""
    base: Path = tmp_path_factory.getbasetemp()
    directory = (base if worker_id == "master" else base.parent) / "model-zoo"
    directory.mkdir(exist_ok=True)
    built_file = directory / "built.pickle"
    with (directory / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if built_file.exists():
            zoo: dict[str, BuiltModel] = pickle.loads(built_file.read_bytes())
            return zoo
        zoo = build_all(directory)
        partial = directory / f"built.pickle.{os.getpid()}"
        partial.write_bytes(pickle.dumps(zoo))
        partial.rename(built_file)
        return zoo
