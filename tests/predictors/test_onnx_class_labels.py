"""ONNX class labels: read from every ONNX-ML classifier operator that records them.

Golden tests, one per operator (``LinearClassifier``, ``SVMClassifier``,
``TreeEnsembleClassifier``), label kind (int, string) and probability output (a tensor, or
skl2onnx's ZipMap): scorecast's probability columns equal the scikit-learn model's own
``predict_proba`` under the model's class labels.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from hypothesis_profiles import examples
from scorecast.domain.output_names import prediction_column, probability_column
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine.scoring import score_chunk
from scorecast.errors import ModelLoadError
from scorecast.predictors import describe_model, load_predictor
from scorecast.predictors.onnx import LABELLED_OPERATORS, graph_labels

COLUMNS = ["f0", "f1", "f2"]

#: operator → a scikit-learn estimator that skl2onnx exports with it
ESTIMATORS = {
    "LinearClassifier": LogisticRegression,
    "SVMClassifier": lambda: CalibratedClassifierCV(SVC(), ensemble=False),
    "TreeEnsembleClassifier": lambda: RandomForestClassifier(
        n_estimators=25, max_depth=4, random_state=0
    ),
}

#: label kind → the labels of a 3-class and of a 2-class target
LABELS: dict[str, tuple[list[Any], list[Any]]] = {
    "int": ([0, 3, 7], [0, 1]),
    "string": (["lo", "mid", "hi"], ["no", "yes"]),
}


def _data(rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, len(COLUMNS))).astype(np.float32)


def _targets(features: np.ndarray, labels: list[Any]) -> np.ndarray:
    score = features[:, 0] + 0.5 * features[:, 1] - 0.25 * features[:, 2]
    edges = np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1])
    return np.asarray(labels, dtype=object)[np.searchsorted(edges, score)].astype(type(labels[0]))


def _export(estimator: Any, path: Path, *, zipmap: bool, feature_names: bool = True) -> Path:
    from skl2onnx import to_onnx

    with warnings.catch_warnings():
        # skl2onnx's SVC converter reads probA_, which scikit-learn 1.9 deprecates
        warnings.filterwarnings("ignore", "Attribute `prob", FutureWarning)
        exported = to_onnx(
            estimator,
            _data(1, 0),
            options={"zipmap": zipmap},
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
    if feature_names:
        helper.set_model_props(exported, {"feature_names": ",".join(COLUMNS)})
    path.write_bytes(exported.SerializeToString())
    return path


def _fit(operator: str, labels: list[Any]) -> Any:
    train = _data(300, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # convergence chatter
        return ESTIMATORS[operator]().fit(train, _targets(train, labels))


def _score(path: Path, target_type: str) -> tuple[Any, pa.RecordBatch, np.ndarray]:
    description = describe_model(path, target="y", target_type=target_type, positive_class=None)
    rows = _data(200, 2)
    batch = pa.RecordBatch.from_arrays(
        [pa.array(rows[:, i].astype(np.float64)) for i in range(len(COLUMNS))], names=COLUMNS
    )
    predictor = load_predictor(path, description)
    return description, score_chunk(predictor, description, ScoringOptions(), batch).batch, rows


@pytest.mark.parametrize("zipmap", [False, True], ids=["tensor", "zipmap"])
@pytest.mark.parametrize("kind", list(LABELS))
@pytest.mark.parametrize("operator", list(ESTIMATORS))
@pytest.mark.parametrize("target_type", ["multiclass", "binary"])
def test_probabilities_equal_predict_proba(
    tmp_path: Path, operator: str, kind: str, zipmap: bool, target_type: str
) -> None:
    many, two = LABELS[kind]
    labels = many if target_type == "multiclass" else two
    estimator = _fit(operator, labels)
    path = _export(estimator, tmp_path / "model.onnx", zipmap=zipmap)
    model = onnx.load(str(path))
    assert operator in {node.op_type for node in model.graph.node}

    description, output, rows = _score(path, target_type)

    assert description.class_labels == [str(label) for label in estimator.classes_]
    assert description.details["raw_labels"] == list(estimator.classes_.tolist())
    expected = estimator.predict_proba(rows)
    for index, label in enumerate(description.class_labels):
        got = output.column(probability_column("y", label)).to_numpy()
        np.testing.assert_allclose(got, expected[:, index], rtol=0, atol=1e-5)
    # labels where the model's choice is clear (float32 scoring may reorder near ties)
    ordered = np.sort(expected, axis=1)
    clear = (ordered[:, -1] - ordered[:, -2] > 1e-4) & (np.abs(expected[:, -1] - 0.5) > 1e-4)
    predicted = np.asarray(output.column(prediction_column("y")).to_pylist(), dtype=object)
    reference = estimator.predict(rows).astype(str)
    assert predicted[clear].tolist() == reference[clear].tolist()
    if target_type == "binary":
        assert description.positive_class == str(two[1])


def test_a_classifier_recording_no_labels_is_refused_naming_the_operators(
    tmp_path: Path,
) -> None:
    """A softmax over a matrix product has probabilities but no labelled node before them."""
    weights = helper.make_tensor("w", TensorProto.FLOAT, [3, 2], [0.1] * 6)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["scores"]),
            helper.make_node("Softmax", ["scores"], ["probabilities"]),
        ],
        "softmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"feature_names": ",".join(COLUMNS)})
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelLoadError) as caught:
        describe_model(path, target="y", target_type="binary", positive_class=None)
    assert "does not record its class labels" in caught.value.message
    assert "LinearClassifier" in caught.value.message
    assert "'probabilities'" in caught.value.message


def _chain(labels: list[Any], hops: int, *, zipmap_labels: list[Any] | None) -> onnx.GraphProto:
    """x → LinearClassifier(labels) → ``hops`` Identity nodes → [ZipMap(zipmap_labels)]."""
    attribute = "classlabels_ints" if isinstance(labels[0], int) else "classlabels_strings"
    nodes = [
        helper.make_node(
            "LinearClassifier",
            ["x"],
            ["label", "p0"],
            domain="ai.onnx.ml",
            coefficients=[1.0] * (3 * len(labels)),
            **{attribute: labels},
        )
    ]
    for hop in range(hops):
        nodes.append(helper.make_node("Identity", [f"p{hop}"], [f"p{hop + 1}"]))
    last = f"p{hops}"
    if zipmap_labels is not None:
        key = "classlabels_int64s" if isinstance(zipmap_labels[0], int) else "classlabels_strings"
        nodes.append(
            helper.make_node(
                "ZipMap", [last], ["zipped"], domain="ai.onnx.ml", **{key: zipmap_labels}
            )
        )
        last = "zipped"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])
    out = helper.make_tensor_value_info(last, TensorProto.FLOAT, [None, len(labels)])
    return helper.make_graph(nodes, "g", [x], [out])


label_lists = st.one_of(
    st.lists(st.integers(-(2**40), 2**40), min_size=2, max_size=6, unique=True),
    st.lists(
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=6),
        min_size=2,
        max_size=6,
        unique=True,
    ),
)


@settings(max_examples=examples(60), deadline=None)
@given(labels=label_lists, hops=st.integers(0, 4))
def test_labels_are_read_through_any_chain_of_nodes(labels: list[Any], hops: int) -> None:
    graph = _chain(labels, hops, zipmap_labels=None)
    assert graph_labels(graph, graph.output[0].name) == labels


@settings(max_examples=examples(30), deadline=None)
@given(labels=label_lists, zipped=label_lists)
def test_the_nearest_labelled_node_wins(labels: list[Any], zipped: list[Any]) -> None:
    graph = _chain(labels, 1, zipmap_labels=zipped)
    assert graph_labels(graph, "zipped") == zipped
    assert graph_labels(graph, "p1") == labels
    assert graph_labels(graph, "x") is None


def test_every_labelled_operator_is_an_onnx_ml_operator() -> None:
    from onnx import defs

    for operator, attributes in LABELLED_OPERATORS.items():
        schema = defs.get_schema(operator, domain="ai.onnx.ml")
        assert set(attributes) <= set(schema.attributes), operator
