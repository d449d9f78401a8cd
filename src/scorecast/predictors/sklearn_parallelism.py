"""Whether a scikit-learn model's chunks score in threads or in worker processes.

Threads of the job's process hold the libraries and the model once, so a job takes about 200 MB
less than with a worker process beside it; but they run in parallel only while the model's code
leaves Python's GIL free. Linear models (one matrix product) and HistGradientBoosting (compiled
OpenMP code) behind vectorized steps (scalers, encoders, imputers) mostly do: the scoring code
around them hands scikit-learn's encoders one Python string per distinct value, so that their
Python loops find each hash cached. Measured on the bench's 1M rows through the service (2
cores, numConcurrent 2), both score in about 400 MB of RSS in threads against 600-630 MB in
processes; over three runs, lr at 1.12-1.42x and hgb at 1.05-1.27x the best bare 2-process
pipeline. Before text columns were dictionary-encoded, lr in threads fell to 0.74-0.87x, under
the issue's 0.9.

Any other model (a random forest, nearest neighbours, a FunctionTransformer running Python code,
a class scikit-learn does not ship) may hold the GIL for most of its work, so it scores in
worker processes, which parallelize whatever it does. ``SCORECAST_SCORING_PARALLELISM``
overrides this choice for every job.
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
