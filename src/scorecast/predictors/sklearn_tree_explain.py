"""Exact per-row feature contributions of scikit-learn tree models (Saabas path attribution).

Every node of a tree has a value: for a leaf, what the tree outputs; for an internal node, the
training-weighted mean of its children's values (the expected output of the training rows that
reached it). Walking a row's decision path from the root to its leaf, each step changes the value
by ``value(child) - value(node)``; that change is credited to the feature the node splits on.
The steps telescope, so per tree ``value(root) + Σ contributions = value(leaf)`` exactly, and
summed over an ensemble the contributions plus the expected value (the sum of the root values
and the model's constant baseline) add up exactly to the model's raw output:

* decision trees and random/extra forests: the class probability (regression: the prediction),
  averaged over trees;
* GradientBoosting and HistGradientBoosting: the margin (log-odds for a binary classifier, the
  per-class score for multiclass, the prediction before the inverse link for a regressor).

This is Saabas' method, not SHAP: it is exact and additive, but the credit of a split depends on
its depth in the tree. Contributions to model-input columns are mapped back to the input
features with the same mapping as the linear explainer (``input_origins``).

HistGradientBoosting rows are routed exactly as the model's own predictor does, including
missing values (``missing_go_to_left``) and categorical splits (the left-category bitsets;
unknown or negative categories follow the missing-value direction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scorecast.predictors.base import FloatArray
from scorecast.predictors.sklearn_explain import input_origins, origins_matrix

_SINGLE = (
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
)
_FORESTS = (
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
)
_BOOSTED = ("GradientBoostingClassifier", "GradientBoostingRegressor")
_HISTOGRAM = ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor")
#: final estimators that ``TreeExplainer`` explains
TREE_MODELS = _SINGLE + _FORESTS + _BOOSTED + _HISTOGRAM

IntArray = np.ndarray[Any, np.dtype[np.intp]]
#: (row, tree) pairs routed at once; a full-depth forest path holds ~30 nodes per pair
_PAIRS_PER_BLOCK = 200_000


@dataclass
class _Nodes:
    """The nodes of all trees of a model, numbered globally in the model's own tree order."""

    left: IntArray  # global id of the left child, -1 for a leaf
    right: IntArray
    feature: IntArray  # model-input column an internal node splits on
    weight: FloatArray  # training weight of the rows that reached the node
    value: FloatArray  # (nodes, output columns): leaf outputs, already scaled per tree
    roots: IntArray


class TreeExplainer:
    """Contributions of each input feature to a tree model's raw output (see module doc)."""

    def __init__(
        self, preprocess: Any | None, model: Any, nodes: _Nodes, base: FloatArray, to_features: Any
    ) -> None:
        import scipy.sparse as sp

        self._preprocess = preprocess
        self._model = model
        self._kind = type(model).__name__
        self._nodes = nodes
        _fill_internal_values(nodes)
        # a binary probability model speaks for classes_[1], like a binary coef_ row
        self._binary_probability = nodes.value.shape[1] == 2 and self._kind not in _HISTOGRAM
        self._expected = base + nodes.value[nodes.roots].sum(axis=0)
        parent = np.full(len(nodes.left), -1, dtype=np.intp)
        internal = np.flatnonzero(nodes.left >= 0)
        parent[nodes.left[internal]] = internal
        parent[nodes.right[internal]] = internal
        child = np.flatnonzero(parent >= 0)
        self._to_features = to_features.toarray()
        self._hist = _HistTable.of(model, nodes) if self._kind in _HISTOGRAM else None
        self._credit = []
        if self._hist is not None:
            return  # HistGradientBoosting rows are routed and credited by ``_HistTable``
        for column in range(nodes.value.shape[1]):
            delta = nodes.value[child, column] - nodes.value[parent[child], column]
            per_input = sp.csr_matrix(
                (delta, (child, nodes.feature[parent[child]])),
                shape=(len(parent), to_features.shape[0]),
            )
            credit = sp.csr_matrix(per_input @ to_features)
            credit.eliminate_zeros()
            self._credit.append(credit)

    @classmethod
    def build(cls, estimator: Any, feature_names: list[str]) -> TreeExplainer | str:
        """An explainer, or the reason why this estimator cannot be explained exactly."""
        steps = estimator.steps if type(estimator).__name__ == "Pipeline" else [("", estimator)]
        model = steps[-1][1]
        kind = type(model).__name__
        if kind not in TREE_MODELS:
            return f"{kind} is not a scikit-learn tree model"
        preprocess = estimator[:-1] if len(steps) > 1 else None
        origins = input_origins(preprocess, feature_names)
        if isinstance(origins, str):
            return origins
        if len(origins) != model.n_features_in_:
            return "prediction explanations are unavailable: the preprocessing width is unknown"
        nodes = _hist_nodes(model) if kind in _HISTOGRAM else _tree_nodes(model)
        if isinstance(nodes, str):
            return f"prediction explanations are unavailable: {nodes}"
        base = _baseline(model, nodes.value.shape[1])
        if isinstance(base, str):
            return f"prediction explanations are unavailable: {base}"
        return cls(preprocess, model, nodes, base, origins_matrix(origins, len(feature_names)))

    def expected_value(self, class_row: int) -> float:
        """The raw output before any feature is known (the row-independent part)."""
        return float(self._expected[self._column(class_row)])

    def contributions(self, frame: pd.DataFrame, class_row: int) -> FloatArray:
        """``(n, n_features)`` contributions to the raw output for output ``class_row``.

        ``class_row`` 0 of a binary classifier means the positive class ``classes_[1]``; of a
        multiclass model, class ``k`` of ``classes_``.
        """
        # a path visits up to depth nodes per tree: bound the (row, tree) pairs held at once
        block = max(1, _PAIRS_PER_BLOCK // len(self._nodes.roots))
        if len(frame) > block:
            return np.concatenate(
                [
                    self.contributions(frame.iloc[start : start + block], class_row)
                    for start in range(0, len(frame), block)
                ]
            )
        z = self._preprocess.transform(frame) if self._preprocess is not None else frame
        column = self._column(class_row)
        if self._hist is not None:
            per_input = self._hist.contributions(self._model, self._nodes, z, column)
            return np.asarray(per_input @ self._to_features, dtype=np.float64)
        result = self._decision_paths(z, column) @ self._credit[column]
        return np.asarray(result.toarray(), dtype=np.float64)

    def _decision_paths(self, z: Any, column: int) -> Any:
        """Sparse ``(rows, nodes)`` indicator of the nodes each row visits in the trees that
        make output ``column``."""
        import scipy.sparse as sp

        if self._kind in _BOOSTED:
            # the inner trees were fitted on arrays: they take float32 arrays, not frames
            z = sp.csr_matrix(z, dtype=np.float32) if sp.issparse(z) else _dense(z, np.float32)
            grid = self._model.estimators_
            paths = [
                tree.decision_path(z)
                if k == column
                else sp.csr_matrix((z.shape[0], tree.tree_.node_count), dtype=np.int64)
                for row in grid
                for k, tree in enumerate(row)
            ]
            return sp.hstack(paths, format="csr")
        if self._kind in _FORESTS:
            return self._model.decision_path(z)[0]
        return self._model.decision_path(z)

    def _column(self, class_row: int) -> int:
        return 1 if self._binary_probability else class_row


def _dense(z: Any, dtype: Any) -> Any:
    return np.asarray(z.to_numpy() if isinstance(z, pd.DataFrame) else z, dtype=dtype)


def _tree_nodes(model: Any) -> _Nodes | str:
    kind = type(model).__name__
    if getattr(model, "n_outputs_", 1) != 1:
        return "multi-output trees are not supported"
    columns: list[int | None]
    if kind in _BOOSTED:
        grid = model.estimators_
        trees = list(grid.ravel())
        columns = [k for _ in range(grid.shape[0]) for k in range(grid.shape[1])]
        scale, width = float(model.learning_rate), grid.shape[1]
    else:
        trees = list(model.estimators_) if kind in _FORESTS else [model]
        columns = [None] * len(trees)
        scale, width = 1.0 / len(trees), _width(model)
    parts: list[tuple[Any, ...]] = []
    offset = 0
    for tree, column in zip(trees, columns, strict=True):
        t = tree.tree_
        raw = np.asarray(t.value[:, 0, :], dtype=np.float64)
        value = np.zeros((t.node_count, width))
        if column is not None:
            value[:, column] = raw[:, 0] * scale
        elif kind.endswith("Classifier"):
            totals = raw.sum(axis=1, keepdims=True)
            value[:] = np.divide(raw, totals, out=np.zeros_like(raw), where=totals > 0) * scale
        else:
            value[:, 0] = raw[:, 0] * scale
        left = np.asarray(t.children_left, dtype=np.intp)
        right = np.asarray(t.children_right, dtype=np.intp)
        leaf = left < 0
        parts.append(
            (
                np.where(leaf, -1, left + offset),
                np.where(leaf, -1, right + offset),
                np.where(leaf, 0, t.feature).astype(np.intp),
                np.asarray(t.weighted_n_node_samples, dtype=np.float64),
                value,
                offset,
            )
        )
        offset += t.node_count
    return _concatenate(parts)


def _width(model: Any) -> int:
    return len(model.classes_) if type(model).__name__.endswith("Classifier") else 1


def _hist_nodes(model: Any) -> _Nodes | str:
    width = model.n_trees_per_iteration_
    parts: list[tuple[Any, ...]] = []
    offset = 0
    for iteration in model._predictors:
        for column, predictor in enumerate(iteration):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            value = np.zeros((len(nodes), width))
            value[:, column] = np.where(leaf, nodes["value"], 0.0)
            parts.append(
                (
                    np.where(leaf, -1, nodes["left"].astype(np.intp) + offset),
                    np.where(leaf, -1, nodes["right"].astype(np.intp) + offset),
                    np.where(leaf, 0, nodes["feature_idx"]).astype(np.intp),
                    nodes["count"].astype(np.float64),
                    value,
                    offset,
                )
            )
            offset += len(nodes)
    return _concatenate(parts)


def _concatenate(parts: list[tuple[Any, ...]]) -> _Nodes:
    return _Nodes(
        left=np.concatenate([p[0] for p in parts]),
        right=np.concatenate([p[1] for p in parts]),
        feature=np.concatenate([p[2] for p in parts]),
        weight=np.concatenate([p[3] for p in parts]),
        value=np.concatenate([p[4] for p in parts]),
        roots=np.asarray([p[5] for p in parts], dtype=np.intp),
    )


def _fill_internal_values(nodes: _Nodes) -> None:
    """Give each internal node the weighted mean of its children, deepest level first."""
    levels = [nodes.roots]
    while True:
        current = levels[-1]
        internal = current[nodes.left[current] >= 0]
        if internal.size == 0:
            break
        levels.append(np.concatenate([nodes.left[internal], nodes.right[internal]]))
    for level in reversed(levels):
        internal = level[nodes.left[level] >= 0]
        left, right = nodes.left[internal], nodes.right[internal]
        w_left, w_right = nodes.weight[left], nodes.weight[right]
        total = w_left + w_right
        share = np.divide(w_left, total, out=np.full_like(total, 0.5), where=total > 0)
        nodes.value[internal] = (
            share[:, None] * nodes.value[left] + (1.0 - share[:, None]) * nodes.value[right]
        )
        nodes.weight[internal] = total


def _baseline(model: Any, width: int) -> FloatArray | str:
    kind = type(model).__name__
    if kind in _HISTOGRAM:
        return np.asarray(model._baseline_prediction, dtype=np.float64).reshape(width)
    if kind in _BOOSTED:
        init = model.init_
        if not (init == "zero" or type(init).__name__ in ("DummyClassifier", "DummyRegressor")):
            return f"the initial estimator {type(init).__name__} gives no constant baseline"
        start = model._raw_predict_init(np.zeros((1, model.n_features_in_), dtype=np.float32))
        return np.asarray(start, dtype=np.float64).reshape(width)
    return np.zeros(width)


@dataclass
class _HistTable:
    """The split rule of every HistGradientBoosting node, numbered like ``_Nodes``."""

    threshold: FloatArray
    missing_left: np.ndarray[Any, np.dtype[np.bool_]]
    categorical: np.ndarray[Any, np.dtype[np.bool_]]
    bitset: IntArray  # row of ``left_bitsets`` for categorical nodes
    known: IntArray  # row of ``known_bitsets`` for categorical nodes
    left_bitsets: np.ndarray[Any, Any]
    known_bitsets: np.ndarray[Any, Any]
    width: int  # trees per iteration: tree t makes output column t % width

    @classmethod
    def of(cls, model: Any, nodes: _Nodes) -> _HistTable:
        known_bitsets, feature_map = model._bin_mapper.make_known_categories_bitsets()
        predictors = [p for iteration in model._predictors for p in iteration]
        offsets = np.cumsum([0] + [len(p.raw_left_cat_bitsets) for p in predictors])[:-1]
        all_nodes = [p.nodes for p in predictors]
        return cls(
            threshold=np.concatenate([n["num_threshold"] for n in all_nodes]),
            missing_left=np.concatenate([n["missing_go_to_left"] for n in all_nodes]) != 0,
            categorical=np.concatenate([n["is_categorical"] for n in all_nodes]) != 0,
            bitset=np.concatenate(
                [
                    n["bitset_idx"].astype(np.intp) + offset
                    for n, offset in zip(all_nodes, offsets, strict=True)
                ]
            ),
            known=np.asarray(feature_map, dtype=np.intp)[nodes.feature],
            left_bitsets=np.concatenate(
                [p.raw_left_cat_bitsets for p in predictors] or [np.zeros((0, 8), dtype=np.uint32)]
            ),
            known_bitsets=np.asarray(known_bitsets),
            width=model.n_trees_per_iteration_,
        )

    def contributions(self, model: Any, nodes: _Nodes, z: Any, column: int) -> FloatArray:
        """``(rows, model inputs)``: route every row through the trees of output ``column``
        as the model's predictor does, crediting each step to the node's split feature."""
        import scipy.sparse as sp

        if sp.issparse(z):
            z = z.toarray()
        x = np.asarray(model._preprocess_X(z, reset=False), dtype=np.float64)
        n, inputs = x.shape
        roots = nodes.roots[column :: self.width]
        rows = np.repeat(np.arange(n, dtype=np.intp), len(roots))
        at = np.tile(roots, n)
        totals = np.zeros(n * inputs)
        while True:
            internal = nodes.left[at] >= 0
            if not internal.any():
                break
            rows, at = rows[internal], at[internal]
            feature = nodes.feature[at]
            goes_left = self.goes_left(at, x[rows, feature])
            child = np.where(goes_left, nodes.left[at], nodes.right[at])
            step = nodes.value[child, column] - nodes.value[at, column]
            totals += np.bincount(rows * inputs + feature, weights=step, minlength=n * inputs)
            at = child
        return totals.reshape(n, inputs)

    def goes_left(self, at: IntArray, value: FloatArray) -> np.ndarray[Any, Any]:
        missing = np.isnan(value)
        left = np.where(missing, self.missing_left[at], value <= self.threshold[at])
        categorical = self.categorical[at] & ~missing
        if categorical.any():
            index = np.flatnonzero(categorical)
            category = value[index]
            usable = (category >= 0) & (category < 256)
            code = np.where(usable, category, 0).astype(np.intp)
            nodes = at[index]
            in_left = _in_bitset(self.left_bitsets, self.bitset[nodes], code) & usable
            in_known = _in_bitset(self.known_bitsets, self.known[nodes], code) & usable
            left[index] = in_left | (~in_known & self.missing_left[nodes])
        return left


def _in_bitset(bitsets: np.ndarray[Any, Any], row: IntArray, code: IntArray) -> Any:
    if len(bitsets) == 0:
        return np.zeros(len(code), dtype=bool)
    words = bitsets[np.minimum(row, len(bitsets) - 1), code // 32].astype(np.int64)
    return ((words >> (code % 32)) & 1).astype(bool)
