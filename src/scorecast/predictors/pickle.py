"""joblib / pickle files of scikit-learn models, only with an explicit ``trust_pickle`` opt-in.

Unpickling runs arbitrary code from the file, so a deployment must say it trusts the file
(``--trust-pickle``), which only users the operator allows may say, on a server whose operator
allows such models at all (``service.trusted_models``); the choice is recorded on the
deployment. Without it the file is refused before a byte of it is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scorecast.errors import ModelLoadError, require_extra
from scorecast.predictors.base import Declared, ModelDescription, Predictor
from scorecast.predictors.sklearn_model import SklearnPredictor, describe_estimator

FORMAT = "pickle"


def _load(path: Path, trusted: bool) -> Any:
    if not trusted:
        raise ModelLoadError(
            "loading a pickle/joblib file runs code from it: save the model with skops or ONNX, "
            "or, where the server's operator allows pickle models, register it with "
            "--trust-pickle (trustPickle: true) if you trust its origin",
            {"trustPickle": "required for pickle/joblib files"},
        )
    joblib = require_extra("joblib", "sklearn")
    try:
        return joblib.load(path)
    except Exception as exc:
        raise ModelLoadError(f"the pickle/joblib file could not be loaded: {exc}") from exc


def describe(path: Path, declared: Declared, sha256: str) -> ModelDescription:
    estimator = _load(path, declared.trust_pickle)
    return describe_estimator(estimator, declared, fmt=FORMAT, sha256=sha256)


def load(path: Path, description: ModelDescription) -> Predictor:
    return SklearnPredictor(_load(path, description.trust_pickle), description)
