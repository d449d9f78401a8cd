"""Whether a scikit-learn model's chunks score in threads or in worker processes.

Threads of the job's process hold the libraries and the model once, so a job takes about 200 MB
less than with a worker process beside it; they run in parallel only while the model's code
leaves Python's GIL free: numpy, scipy and scikit-learn's compiled code do, Python loops do
not. A model made only of the steps below, whose work is vectorized, scores in threads.
Measured on the bench's 1M rows (2 cores, numConcurrent 2): one-hot + logistic regression took
5.0 s in threads against 4.7 s in processes, with 424 MB peak RSS against 639 MB; a
HistGradientBoosting pipeline 7.7 s against 7.1 s, with 417 MB against 632 MB.

Any other step (a text vectorizer, a ``FunctionTransformer`` running Python code, a model
scikit-learn does not ship) may hold the GIL for most of its work, so such a model scores in
worker processes, which parallelize whatever it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scorecast.domain.model_description import Parallelism

#: scikit-learn steps whose predict/transform work is vectorized (see the module docstring)
VECTORIZED_STEPS = frozenset(
    {
        # composition
        "Pipeline",
        "ColumnTransformer",
        "FeatureUnion",
        # preprocessing
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
        # linear models
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
        # tree ensembles scored by OpenMP code
        "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
    }
)


def scoring_parallelism(estimator: Any) -> Parallelism:
    """``"threads"`` when every step of ``estimator`` is a vectorized scikit-learn step,
    else ``"processes"``."""
    for step in _steps(estimator):
        kind = type(step)
        if not kind.__module__.startswith("sklearn."):
            return "processes"
        # a fitted column transformer's "passthrough" remainder: a FunctionTransformer without
        # a function, the identity
        identity = kind.__name__ == "FunctionTransformer" and step.func is None
        if kind.__name__ not in VECTORIZED_STEPS and not identity:
            return "processes"
    return "threads"


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
