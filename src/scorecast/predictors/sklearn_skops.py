"""scikit-learn models saved with skops (``.skops``), loaded with skops' trusted-types check.

Only the types skops trusts by default (scikit-learn estimators, numpy, scipy building blocks)
plus scikit-learn's own internal classes (e.g. the tree predictors of HistGradientBoosting,
which skops does not list), the score and metric functions of ``sklearn.feature_selection``
and ``sklearn.metrics``, and ``numpy.dtype`` are loaded; a file that needs any other type (any
other function, a class from another package) is refused with the list of those types, because
loading them could run code. A name under ``sklearn.`` counts only when it is what it claims: a
class or such a function defined in that very module. A name is only a path, and scikit-learn's
modules import other packages' functions and classes (``sklearn.utils._testing.check_output``
is ``subprocess.check_output``): trusting the prefix let a file run shell commands in a job. What
the check let through is kept in its prepared form (``predictors.prepared``), so that later
processes skip the check's cost.
"""

from __future__ import annotations

import importlib
import inspect
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
    refused = sorted(
        name for name in untrusted if name not in _ALSO_TRUSTED and not _trusted_sklearn_name(name)
    )
    if refused:
        raise ModelLoadError(
            "the skops file needs types that are not trusted: " + ", ".join(refused),
            {"untrustedTypes": refused},
        )
    try:
        return skops_io.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise ModelLoadError(f"the skops file could not be loaded: {exc}") from exc


#: types skops does not list that plain scikit-learn models hold: ``numpy.dtype`` (a
#: ``SimpleImputer`` keeps the dtype it was fitted on; building a dtype runs no code of the
#: file's: a dtype of a class would need that class, which the check judges on its own)
_ALSO_TRUSTED = frozenset({"numpy.dtype"})
#: modules of scikit-learn's own tests and test helpers, never trusted
_TESTING_MODULES = frozenset({"tests", "_testing", "_mocking", "estimator_checks", "conftest"})
#: the scikit-learn packages whose functions a model may hold: the score functions of feature
#: selection (``SelectKBest(f_classif)``) and the metrics of a scorer (``make_scorer(f1_score)``),
#: which compute on arrays. No other function is trusted: a ``FunctionTransformer`` calls its
#: function with arguments the file chooses, and other scikit-learn functions write files
#: (``dump_svmlight_file``) or fetch data.
_FUNCTION_PACKAGES = ("sklearn.metrics.", "sklearn.feature_selection.")


def _trusted_sklearn_name(name: str) -> bool:
    """Whether ``name`` (``module.Class``, as skops names a type) is a class that scikit-learn
    itself defines in that very module, or a function of ``_FUNCTION_PACKAGES`` defined there:
    not another package's function or class that a scikit-learn module imported, not a test
    helper. Only modules under ``sklearn.`` are imported to find out."""
    module_name, _, attribute = name.rpartition(".")
    if not module_name.startswith("sklearn.") or not attribute:
        return False
    if _TESTING_MODULES & set(module_name.split(".")):
        return False  # scikit-learn's test helpers are no part of a model
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except Exception:  # not there, or failing to import: not a class it defines
        return False
    if getattr(found, "__module__", None) != module_name:
        return False  # imported from elsewhere (skops names a type by where it is defined)
    if getattr(found, "__qualname__", None) != attribute:
        return False
    if isinstance(found, type):
        return True
    return inspect.isfunction(found) and module_name.startswith(_FUNCTION_PACKAGES)


def describe(path: Path, declared: Declared, sha256: str) -> ModelDescription:
    return describe_estimator(_load(path, sha256), declared, fmt=FORMAT, sha256=sha256)


def load(path: Path, description: ModelDescription) -> Predictor:
    return SklearnPredictor(_load(path, description.sha256), description)
