"""scikit-learn models saved with skops (``.skops``), loaded with skops' trusted-types check.

Only the types skops trusts by default (scikit-learn estimators, numpy, scipy building blocks)
plus scikit-learn's own internal classes (``sklearn.*``, e.g. the tree predictors of
HistGradientBoosting, which skops does not list) are loaded; a file that needs any other type
(a function, a class from another package) is refused with the list of those types, because
loading them could run code. What the check let through is kept in its prepared form
(``predictors.prepared``), so that later processes skip the check's cost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scorecast.errors import ModelLoadError, require_extra
from scorecast.predictors import prepared
from scorecast.predictors.base import Declared, ModelDescription, Predictor
from scorecast.predictors.sklearn_model import SklearnPredictor, describe_estimator

FORMAT = "skops"


def _load(path: Path, sha256: str) -> Any:
    estimator = prepared.read(path, sha256)
    if estimator is None:
        estimator = _load_checked(path)
        prepared.write(path, sha256, estimator)
    return estimator


def _load_checked(path: Path) -> Any:
    skops_io = require_extra("skops.io", "sklearn")
    try:
        untrusted = skops_io.get_untrusted_types(file=path)
    except Exception as exc:
        raise ModelLoadError(f"not a readable skops file: {exc}") from exc
    refused = sorted(name for name in untrusted if not name.startswith("sklearn."))
    if refused:
        raise ModelLoadError(
            "the skops file needs types that are not trusted: " + ", ".join(refused),
            {"untrustedTypes": refused},
        )
    try:
        return skops_io.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise ModelLoadError(f"the skops file could not be loaded: {exc}") from exc


def describe(path: Path, declared: Declared, sha256: str) -> ModelDescription:
    return describe_estimator(_load(path, sha256), declared, fmt=FORMAT, sha256=sha256)


def load(path: Path, description: ModelDescription) -> Predictor:
    return SklearnPredictor(_load(path, description.sha256), description)
