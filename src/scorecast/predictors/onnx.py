"""ONNX models, scored with onnxruntime in bounded row batches.

Input layouts:

- one input per feature (what skl2onnx produces with one ``initial_types`` entry per column),
  each of shape ``[N, 1]``: the input names are the feature names, ``tensor(string)`` inputs are
  categorical, numeric tensors numeric;
- one numeric input ``[N, k]``: its ``k`` column names, in order, are the ones given at
  registration (``Declared.feature_names``), else the model's ``metadata_props``
  ``feature_names`` (comma separated); with neither the model is refused.

A classifier has a probability output (a ``[N, k]`` tensor, or skl2onnx's ZipMap sequence of
maps) and class labels recorded, as ints or strings, by the ONNX-ML node nearest upstream of it
(``LABELLED_OPERATORS``: ``LinearClassifier``, ``SVMClassifier``, ``TreeEnsembleClassifier``,
``ZipMap``); the probability columns are in that node's label order.
A regressor has one numeric output. Rows are fed in batches of ``ROW_BATCH`` because skl2onnx's
one-hot encoder produces dense tensors (one call on a million rows peaked at 18 GB).
ONNX models cannot explain (no exact per-feature contributions).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from scorecast.errors import ModelLoadError
from scorecast.predictors.base import (
    Declared,
    Feature,
    FloatArray,
    ModelDescription,
    Predictor,
    label_text,
    settle_labels,
)

FORMAT = "onnx"
ROW_BATCH = 10_000

_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": np.object_,
}


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelLoadError(f"not a loadable ONNX model: {exc}") from exc


#: the ONNX-ML operators that record class labels, with their int and string label attributes
LABELLED_OPERATORS: dict[str, tuple[str, str]] = {
    "LinearClassifier": ("classlabels_ints", "classlabels_strings"),
    "SVMClassifier": ("classlabels_ints", "classlabels_strings"),
    "TreeEnsembleClassifier": ("classlabels_int64s", "classlabels_strings"),
    "ZipMap": ("classlabels_int64s", "classlabels_strings"),
}


def _node_labels(node: Any) -> list[Any] | None:
    """The class labels a node records (ints or strings), or None for any other node."""
    names = LABELLED_OPERATORS.get(node.op_type)
    if names is None or node.domain not in ("ai.onnx.ml", ""):
        return None
    ints, strings = names
    for attribute in node.attribute:
        if attribute.name == strings and attribute.strings:
            return [s.decode() for s in attribute.strings]
        if attribute.name == ints and attribute.ints:
            return [int(i) for i in attribute.ints]
    return None


def graph_labels(graph: Any, output: str) -> list[Any] | None:
    """The class labels of the labelled node nearest upstream of ``output`` (breadth first).

    The nearest one is the classifier (or ZipMap) whose columns ``output`` holds, also when
    a pipeline has several classifiers or ZipMap repeats its classifier's labels. None when
    no node on the way records labels.
    """
    producers = {name: node for node in graph.node for name in node.output}
    queue, seen = deque([output]), {output}
    while queue:
        node = producers.get(queue.popleft())
        if node is None:
            continue
        labels = _node_labels(node)
        if labels is not None:
            return labels
        for name in node.input:
            if name and name not in seen:
                seen.add(name)
                queue.append(name)
    return None


def _class_labels(path: Path, output: Any) -> list[Any]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    labels = graph_labels(model.graph, output.name)
    if labels is None:
        raise ModelLoadError(
            f"the ONNX classifier does not record its class labels: no "
            f"{', '.join(LABELLED_OPERATORS)} node leading to its output {output.name!r} "
            "records classlabels_ints/int64s/strings"
        )
    width = output.shape[-1] if output.type.startswith("tensor") and output.shape else None
    if isinstance(width, int) and width != len(labels):
        raise ModelLoadError(
            f"the ONNX classifier's output {output.name!r} has {width} columns but its "
            f"class labels are {labels}"
        )
    return labels


def _matrix_names(session: Any, declared: Declared) -> list[str]:
    """The columns of a one-matrix-input model: the names given at registration, else its
    ``feature_names`` metadata."""
    if declared.feature_names is not None:
        return list(declared.feature_names)
    meta = session.get_modelmeta().custom_metadata_map
    names = [n.strip() for n in meta.get("feature_names", "").split(",") if n.strip()]
    if not names:
        raise ModelLoadError(
            "the ONNX model takes one matrix input and does not record its column names: "
            "give them at registration (featureNames, or scorecast deployment create "
            "--feature-names a,b,c) or as the model's metadata_props 'feature_names'",
            {"featureNames": "required for this model"},
        )
    return names


def describe(path: Path, declared: Declared, sha256: str) -> ModelDescription:
    session = _session(path)
    inputs = session.get_inputs()
    for item in inputs:
        if item.type not in _NUMPY_TYPES:
            raise ModelLoadError(f"ONNX input {item.name!r} has unsupported type {item.type}")
    if all(len(i.shape) <= 1 or i.shape[-1] == 1 for i in inputs):
        layout = "columns"
        features = [
            Feature(i.name, "categorical" if i.type == "tensor(string)" else "numeric")
            for i in inputs
        ]
    elif len(inputs) == 1 and inputs[0].type != "tensor(string)":
        layout = "matrix"
        names = _matrix_names(session, declared)
        width = inputs[0].shape[-1]
        if isinstance(width, int) and width != len(names):
            raise ModelLoadError(
                f"the ONNX model's input {inputs[0].name!r} has {width} columns but "
                f"{len(names)} feature names were given: {', '.join(names)}",
                {"featureNames": f"must name exactly {width} columns"},
            )
        features = [Feature(name) for name in names]
    else:
        raise ModelLoadError("unsupported ONNX input layout: use one [N,1] input per column")

    outputs = session.get_outputs()
    probability = next(
        (
            o
            for o in outputs
            if o.type.startswith("seq(map")
            or (o.type in ("tensor(float)", "tensor(double)") and "prob" in o.name.lower())
        ),
        None,
    )
    if probability is not None:
        raw_labels = _class_labels(path, probability)
        kind, labels = "classifier", [label_text(label) for label in raw_labels]
        output = probability.name
    else:
        numeric = [o for o in outputs if o.type in ("tensor(float)", "tensor(double)")]
        if len(numeric) != 1:
            raise ModelLoadError("the ONNX model has no single numeric output to use")
        kind, labels, raw_labels, output = "regressor", [], None, numeric[0].name
    class_labels, positive = settle_labels(declared, kind, labels)  # type: ignore[arg-type]
    return ModelDescription(
        format=FORMAT,
        target=declared.target,
        target_type=declared.target_type,
        features=features,
        sha256=sha256,
        class_labels=class_labels,
        positive_class=positive,
        prediction_range=declared.prediction_range,
        can_explain=False,
        explain_unavailable_reason=(
            "ONNX models cannot give prediction explanations in scorecast; deploy the model "
            "as skops (linear or tree models), LightGBM or XGBoost to get them"
        ),
        parallelism="threads",
        details={
            "layout": layout,
            "inputs": {i.name: i.type for i in inputs},
            "output": output,
            "raw_labels": raw_labels,
        },
    )


class OnnxPredictor(Predictor):
    def __init__(self, session: Any, description: ModelDescription) -> None:
        super().__init__(description)
        self.session = session
        details = description.details
        self._layout: str = details["layout"]
        self._inputs: dict[str, str] = details["inputs"]
        self._output: str = details["output"]
        self._raw_labels: list[Any] | None = details.get("raw_labels")

    def _feeds(self, batch: pa.RecordBatch) -> dict[str, Any]:
        if self._layout == "matrix":
            ((name, kind),) = self._inputs.items()
            matrix = np.column_stack(
                [
                    batch.column(f).cast(pa.float64()).to_numpy(zero_copy_only=False)
                    for f in self.description.feature_names
                ]
            )
            return {name: matrix.astype(_NUMPY_TYPES[kind])}
        feeds: dict[str, Any] = {}
        for name, kind in self._inputs.items():
            column = batch.column(name)
            if kind == "tensor(string)":
                values = column.cast(pa.string()).fill_null("").to_numpy(zero_copy_only=False)
                feeds[name] = values.astype(object).reshape(-1, 1)
            else:
                numbers = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
                feeds[name] = numbers.astype(_NUMPY_TYPES[kind]).reshape(-1, 1)
        return feeds

    def _run(self, batch: pa.RecordBatch) -> FloatArray:
        (result,) = self.session.run([self._output], self._feeds(batch))
        if isinstance(result, list):  # ZipMap: one {label: probability} per row
            labels = self._raw_labels or []
            return np.array([[row[label] for label in labels] for row in result], dtype=np.float64)
        array = np.asarray(result, dtype=np.float64)
        if self.description.target_type == "regression":
            return array.reshape(-1)
        return array

    def predict(self, batch: pa.RecordBatch) -> FloatArray:
        parts = [
            self._run(batch.slice(start, ROW_BATCH))
            for start in range(0, max(batch.num_rows, 1), ROW_BATCH)
        ]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


def load(path: Path, description: ModelDescription) -> Predictor:
    return OnnxPredictor(_session(path), description)
