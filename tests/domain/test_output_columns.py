"""DataRobot §11 output columns: naming and every option, alone and combined (pure)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.explanation_columns import (
    Explanations,
    explained_classes,
    explained_rows,
    qualitative_strength,
)
from scorecast.domain.output_columns import assemble, check_output_names
from scorecast.domain.output_names import (
    duplicate_name_problem,
    model_column_names,
    passthrough_names,
    remapped,
)
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.errors import JobFailure
from scorecast.formats import ROW_ERROR_COLUMN
from scorecast.predictors.base import Feature, ModelDescription


def _description(target_type: str, labels: list[str] | None = None, **extra) -> ModelDescription:
    labels = (
        labels
        if labels is not None
        else {"regression": [], "binary": ["0.0", "1.0"], "multiclass": ["a", "b", "c"]}[
            target_type
        ]
    )
    return ModelDescription(
        format="onnx",
        target="readmitted",
        target_type=target_type,  # type: ignore[arg-type]
        features=[Feature("age"), Feature("color", "categorical")],
        sha256="0" * 64,
        class_labels=labels,
        positive_class="1.0" if target_type == "binary" else None,
        **extra,
    )


INPUTS = pa.record_batch({"id": [1, 2, 3], "age": [30.0, 50.5, None], "color": ["r", "g", "b"]})
BINARY = np.array([[0.780818685889, 0.219181314111], [0.3, 0.7], [0.5, 0.5]])
OK3: list[str | None] = [None, None, None]


def _run(description, options, predictions, status=OK3, explanations=None) -> pa.RecordBatch:
    return assemble(
        description, options, INPUTS, predictions, status=status, explanations=explanations
    )


def test_binary_columns_match_datarobot_fixture() -> None:
    out = _run(_description("binary"), ScoringOptions(include_prediction_status=True), BINARY)
    assert out.schema.names == [
        "readmitted_0.0_PREDICTION",
        "readmitted_1.0_PREDICTION",
        "readmitted_PREDICTION",
        "THRESHOLD",
        "POSITIVE_CLASS",
        "prediction_status",
    ]
    first = out.slice(0, 1).to_pylist()[0]
    assert first["readmitted_1.0_PREDICTION"] == pytest.approx(0.219181314111)
    assert first["readmitted_PREDICTION"] == "0.0"
    assert first["THRESHOLD"] == 0.5 and first["POSITIVE_CLASS"] == "1.0"
    assert first["prediction_status"] == "OK"
    # a tie at the threshold goes to the negative class, like scikit-learn's predict
    assert out.column("readmitted_PREDICTION").to_pylist() == ["0.0", "1.0", "0.0"]


def test_regression_and_multiclass_columns() -> None:
    reg = _run(_description("regression"), ScoringOptions(), np.array([1.5, 2.0, -3.0]))
    assert reg.schema.names == ["readmitted_PREDICTION"]
    assert reg.column(0).type == pa.float64()
    multi = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    out = _run(_description("multiclass"), ScoringOptions(), multi)
    assert out.schema.names == [
        "readmitted_a_PREDICTION",
        "readmitted_b_PREDICTION",
        "readmitted_c_PREDICTION",
        "readmitted_PREDICTION",
    ]
    assert out.column("readmitted_PREDICTION").to_pylist() == ["b", "a", "c"]


def test_include_probabilities_false_and_class_subset() -> None:
    out = _run(_description("binary"), ScoringOptions(include_probabilities=False), BINARY)
    assert out.schema.names == ["readmitted_PREDICTION", "THRESHOLD", "POSITIVE_CLASS"]
    multi = np.full((3, 3), 1 / 3)
    subset = ScoringOptions(include_probabilities_classes=("c", "a"))
    out = _run(_description("multiclass"), subset, multi)
    assert out.schema.names == [
        "readmitted_a_PREDICTION",
        "readmitted_c_PREDICTION",
        "readmitted_PREDICTION",
    ]


def test_prediction_threshold_changes_the_label_and_is_shown() -> None:
    options = ScoringOptions(prediction_threshold=0.2, include_probabilities_classes=("1.0",))
    out = _run(_description("binary"), options, BINARY)
    assert out.column("readmitted_PREDICTION").to_pylist() == ["1.0", "1.0", "1.0"]
    assert out.column("THRESHOLD").to_pylist() == [0.2] * 3
    assert "readmitted_0.0_PREDICTION" not in out.schema.names


def test_deployment_threshold_is_the_default() -> None:
    description = _description("binary", prediction_threshold=0.75)
    out = _run(description, ScoringOptions(), BINARY)
    assert out.column("readmitted_PREDICTION").to_pylist() == ["0.0", "0.0", "0.0"]


def test_failed_rows_have_empty_predictions_and_their_error() -> None:
    status = [None, "column 'age': 'x' is not a number", None]
    out = _run(
        _description("binary"), ScoringOptions(include_prediction_status=True), BINARY, status
    )
    rows = out.to_pylist()
    assert rows[1]["readmitted_PREDICTION"] is None and rows[1]["THRESHOLD"] is None
    assert rows[1]["prediction_status"] == status[1]
    assert [r["prediction_status"] for r in rows] == ["OK", status[1], "OK"]


def test_passthrough_listed_all_and_remapping_with_drop() -> None:
    listed = _run(
        _description("regression"), ScoringOptions(passthrough_columns=("color", "id")), np.zeros(3)
    )
    assert listed.schema.names == ["color", "id", "readmitted_PREDICTION"]
    with_errors = INPUTS.append_column(ROW_ERROR_COLUMN, pa.array([None, None, None], pa.string()))
    everything = assemble(
        _description("regression"),
        ScoringOptions(
            passthrough_all=True,
            column_names_remapping={"id": "ID", "readmitted_PREDICTION": "score", "age": None},
        ),
        with_errors,
        np.zeros(3),
        status=OK3,
        explanations=None,
    )
    assert everything.schema.names == ["ID", "color", "score"]
    assert everything.column("ID").to_pylist() == [1, 2, 3]


def test_outlier_column_needs_the_option_and_a_range() -> None:
    values = np.array([-5.0, 0.5, 9.0])
    with_range = _description("regression", prediction_range=(0.0, 1.0))
    on = ScoringOptions(prediction_warning_enabled=True)
    out = _run(with_range, on, values)
    assert out.column("IS_OUTLIER_PREDICTION").to_pylist() == [True, False, True]
    assert "IS_OUTLIER_PREDICTION" not in _run(with_range, ScoringOptions(), values).schema.names
    assert "IS_OUTLIER_PREDICTION" not in _run(_description("regression"), on, values).schema.names


def test_explanation_columns_strongest_first() -> None:
    contributions = np.array([[0.5, -2.0], [0.1, 0.05], [np.nan, np.nan]])
    options = ScoringOptions(max_explanations=2)
    out = _run(_description("binary"), options, BINARY, explanations=Explanations(contributions))
    names = [n for n in out.schema.names if n.startswith("EXPLANATION")]
    assert names == [
        f"EXPLANATION_{i}_{part}"
        for i in (1, 2)
        for part in ("FEATURE_NAME", "STRENGTH", "ACTUAL_VALUE", "QUALITATIVE_STRENGTH")
    ]
    rows = out.to_pylist()
    assert rows[0]["EXPLANATION_1_FEATURE_NAME"] == "color"
    assert rows[0]["EXPLANATION_1_STRENGTH"] == -2.0
    assert rows[0]["EXPLANATION_1_ACTUAL_VALUE"] == "r"
    assert rows[0]["EXPLANATION_1_QUALITATIVE_STRENGTH"] == "---"
    assert rows[0]["EXPLANATION_2_FEATURE_NAME"] == "age"
    assert rows[0]["EXPLANATION_2_ACTUAL_VALUE"] == "30"
    assert rows[0]["EXPLANATION_2_QUALITATIVE_STRENGTH"] == "++"  # 0.5 / 2.0 > 20 %
    assert rows[1]["EXPLANATION_1_FEATURE_NAME"] == "age"
    assert rows[1]["EXPLANATION_2_QUALITATIVE_STRENGTH"] == "++"  # exactly 50 %
    assert rows[2]["EXPLANATION_1_FEATURE_NAME"] is None


def test_everything_together_keeps_one_row_per_input_row() -> None:
    options = ScoringOptions(
        passthrough_all=True,
        include_probabilities_classes=("1.0",),
        prediction_threshold=0.6,
        include_prediction_status=True,
        column_names_remapping={"THRESHOLD": None, "id": "row_id"},
        max_explanations=1,
    )
    out = _run(
        _description("binary"),
        options,
        BINARY,
        [None, None, "bad row"],
        Explanations(np.array([[1.0, 0.0], [0.0, -1.0], [np.nan, np.nan]])),
    )
    assert out.num_rows == 3
    assert "THRESHOLD" not in out.schema.names and "row_id" in out.schema.names
    assert out.column("readmitted_PREDICTION").to_pylist() == ["0.0", "1.0", None]
    assert out.column("EXPLANATION_1_FEATURE_NAME").to_pylist() == ["age", "color", None]


@given(
    strength=st.floats(-1e6, 1e6, allow_nan=False),
    extra=st.floats(0, 1e6, allow_nan=False),
)
def test_qualitative_strength_sign_and_scale(strength: float, extra: float) -> None:
    row_max = abs(strength) + extra
    marks = qualitative_strength(strength, row_max)
    assert set(marks) <= {"+", "-"} and len(set(marks)) == 1 and 1 <= len(marks) <= 3
    assert marks[0] == ("-" if strength < 0 else "+")
    if row_max > 0 and abs(strength) / row_max > 0.5:
        assert len(marks) == 3
    if row_max > 0 and abs(strength) / row_max <= 0.2:
        assert len(marks) == 1


@given(
    names=st.lists(st.text(min_size=1, max_size=4), unique=True, max_size=8),
    data=st.data(),
)
def test_remapping_renames_drops_and_keeps_order(names: list[str], data: st.DataObject) -> None:
    remap = data.draw(
        st.dictionaries(
            st.sampled_from(names) if names else st.nothing(),
            st.one_of(st.none(), st.text(min_size=1, max_size=4)),
        )
    )
    pairs = remapped(names, remap)
    assert [old for old, _ in pairs] == [n for n in names if remap.get(n, n) is not None]
    assert all(new == remap.get(old, old) for old, new in pairs)


@pytest.mark.parametrize(
    ("high", "low", "expected"),
    [
        (None, None, [True, True, False]),
        (0.6, None, [False, True, False]),
        (None, 0.25, [True, False, False]),
        (0.6, 0.25, [True, True, False]),
        (0.9, 0.1, [False, False, False]),
    ],
)
def test_explanation_thresholds_compare_the_positive_probability(
    high: float | None, low: float | None, expected: list[bool]
) -> None:
    options = ScoringOptions(max_explanations=1, threshold_high=high, threshold_low=low)
    failed = np.array([False, False, True])
    rows = explained_rows(_description("binary"), options, BINARY, failed)
    assert rows.tolist() == expected


MULTI = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]])
#: (row, class a/b/c, feature age/color) contributions
PER_CLASS = np.array(
    [
        [[0.1, -0.4], [0.9, 0.2], [-0.3, 0.0]],
        [[-1.0, 0.3], [0.2, 0.2], [0.05, -0.5]],
        [[0.0, 0.1], [0.4, -0.8], [2.0, 1.0]],
    ]
)


def _class_explanations(options: ScoringOptions, predictions=MULTI) -> Explanations:
    """What the engine hands over: each row's explained classes and their contributions."""
    classes = explained_classes(_description("multiclass"), options, predictions)
    assert classes is not None
    blocks = PER_CLASS[np.arange(3)[:, None], classes]
    return Explanations(blocks, classes)


def _class_names(count: int, slots: int) -> list[str]:
    return [
        name
        for k in range(1, count + 1)
        for name in [
            f"CLASS_{k}",
            *(
                f"CLASS_{k}_EXPLANATION_{i}_{part}"
                for i in range(1, slots + 1)
                for part in ("FEATURE_NAME", "STRENGTH", "ACTUAL_VALUE", "QUALITATIVE_STRENGTH")
            ),
        ]
    ]


def test_top_classes_get_class_columns_in_probability_order() -> None:
    options = ScoringOptions(max_explanations=2, explanation_num_top_classes=2)
    out = _run(
        _description("multiclass"), options, MULTI, explanations=_class_explanations(options)
    )
    assert out.schema.names == [
        "readmitted_a_PREDICTION",
        "readmitted_b_PREDICTION",
        "readmitted_c_PREDICTION",
        "readmitted_PREDICTION",
        *_class_names(2, 2),
    ]
    assert out.column("CLASS_1").to_pylist() == ["b", "a", "c"]
    assert out.column("CLASS_1").to_pylist() == out.column("readmitted_PREDICTION").to_pylist()
    assert out.column("CLASS_2").to_pylist() == ["c", "c", "a"]  # row 3: a and b tie, a first
    rows = out.to_pylist()
    # row 1, class b: age 0.9 then color 0.2; class c: age -0.3 then color 0.0
    assert rows[0]["CLASS_1_EXPLANATION_1_FEATURE_NAME"] == "age"
    assert rows[0]["CLASS_1_EXPLANATION_1_STRENGTH"] == 0.9
    assert rows[0]["CLASS_1_EXPLANATION_1_ACTUAL_VALUE"] == "30"
    assert rows[0]["CLASS_1_EXPLANATION_1_QUALITATIVE_STRENGTH"] == "+++"
    assert rows[0]["CLASS_1_EXPLANATION_2_QUALITATIVE_STRENGTH"] == "++"  # 0.2 / 0.9 > 20 %
    assert rows[0]["CLASS_2_EXPLANATION_1_STRENGTH"] == -0.3
    assert rows[0]["CLASS_2_EXPLANATION_1_QUALITATIVE_STRENGTH"] == "---"
    assert rows[0]["CLASS_2_EXPLANATION_2_STRENGTH"] == 0.0
    # row 3, class a: color 0.1 is the strongest, age 0.0 next
    assert rows[2]["CLASS_2_EXPLANATION_1_FEATURE_NAME"] == "color"
    assert rows[2]["CLASS_2_EXPLANATION_1_ACTUAL_VALUE"] == "b"
    assert rows[2]["CLASS_2_EXPLANATION_2_ACTUAL_VALUE"] is None  # age is missing in row 3


def test_class_names_are_explained_in_the_requested_order_for_every_row() -> None:
    options = ScoringOptions(max_explanations=1, explanation_class_names=("c", "a"))
    out = _run(
        _description("multiclass"), options, MULTI, explanations=_class_explanations(options)
    )
    assert [n for n in out.schema.names if n.startswith("CLASS")] == _class_names(2, 1)
    assert out.column("CLASS_1").to_pylist() == ["c", "c", "c"]
    assert out.column("CLASS_2").to_pylist() == ["a", "a", "a"]
    assert out.column("CLASS_1_EXPLANATION_1_STRENGTH").to_pylist() == [-0.3, -0.5, 2.0]
    assert out.column("CLASS_2_EXPLANATION_1_STRENGTH").to_pylist() == [-0.4, -1.0, 0.1]


def test_slots_stop_at_the_number_of_features_and_one_class_is_allowed() -> None:
    options = ScoringOptions(max_explanations=5, explanation_num_top_classes=1)
    out = _run(
        _description("multiclass"), options, MULTI, explanations=_class_explanations(options)
    )
    assert [n for n in out.schema.names if n.startswith("CLASS")] == _class_names(1, 2)


def test_multiclass_without_class_options_keeps_the_predicted_class_layout() -> None:
    contributions = PER_CLASS[np.arange(3), MULTI.argmax(axis=1)]
    out = _run(
        _description("multiclass"),
        ScoringOptions(max_explanations=1),
        MULTI,
        explanations=Explanations(contributions),
    )
    assert not [n for n in out.schema.names if n.startswith("CLASS")]
    assert out.column("EXPLANATION_1_STRENGTH").to_pylist() == [0.9, -1.0, 2.0]


def test_failed_and_thresholded_rows_have_empty_class_columns() -> None:
    options = ScoringOptions(max_explanations=1, explanation_num_top_classes=2, threshold_high=0.55)
    status: list[str | None] = [None, "bad row", None]
    failed = np.array([s is not None for s in status])
    wanted = explained_rows(_description("multiclass"), options, MULTI, failed)
    assert wanted.tolist() == [False, False, True]  # row 1's top probability 0.5 <= 0.55
    full = _class_explanations(options)
    blocks = np.where(wanted[:, None, None], full.contributions, np.nan)
    out = _run(
        _description("multiclass"), options, MULTI, status, Explanations(blocks, full.classes)
    )
    for name in _class_names(2, 1):
        values = out.column(name).to_pylist()
        assert values[0] is None and values[1] is None, name
        # row 3 is explained; its age is missing, so that ACTUAL_VALUE is null
        assert values[2] is not None or name.endswith("ACTUAL_VALUE"), name
    assert out.column("CLASS_1").to_pylist() == [None, None, "c"]


def test_class_columns_with_passthrough_and_remapping() -> None:
    options = ScoringOptions(
        passthrough_all=True,
        include_probabilities=False,
        include_prediction_status=True,
        max_explanations=1,
        explanation_num_top_classes=2,
        column_names_remapping={
            "id": "row_id",
            "CLASS_1": "top_class",
            "CLASS_1_EXPLANATION_1_STRENGTH": "top_strength",
            "CLASS_2_EXPLANATION_1_ACTUAL_VALUE": None,
            "color": None,
        },
    )
    out = _run(
        _description("multiclass"), options, MULTI, explanations=_class_explanations(options)
    )
    assert out.schema.names == [
        "row_id",
        "age",
        "readmitted_PREDICTION",
        "top_class",
        "CLASS_1_EXPLANATION_1_FEATURE_NAME",
        "top_strength",
        "CLASS_1_EXPLANATION_1_ACTUAL_VALUE",
        "CLASS_1_EXPLANATION_1_QUALITATIVE_STRENGTH",
        "CLASS_2",
        "CLASS_2_EXPLANATION_1_FEATURE_NAME",
        "CLASS_2_EXPLANATION_1_STRENGTH",
        "CLASS_2_EXPLANATION_1_QUALITATIVE_STRENGTH",
        "prediction_status",
    ]
    assert out.column("row_id").to_pylist() == [1, 2, 3]
    assert out.column("top_class").to_pylist() == ["b", "a", "c"]
    assert out.column("top_strength").to_pylist() == [0.9, -1.0, 2.0]


def test_class_columns_without_explanations_are_empty() -> None:
    options = ScoringOptions(max_explanations=1, explanation_class_names=("b",))
    out = _run(_description("multiclass"), options, MULTI, explanations=None)
    assert [n for n in out.schema.names if n.startswith("CLASS")] == _class_names(1, 1)
    assert out.column("CLASS_1").null_count == 3


PREDICTIONS = {"regression": np.zeros(3), "binary": BINARY, "multiclass": MULTI}


@given(target_type=st.sampled_from(list(PREDICTIONS)), data=st.data())
def test_the_names_known_before_scoring_are_the_names_written(
    target_type: str, data: st.DataObject
) -> None:
    """``model_column_names`` (what the runner checks before any output) is what ``assemble``
    writes, in order, whatever the options."""
    ranges = st.sampled_from([None, (0.0, 1.0)])
    description = _description(target_type, prediction_range=data.draw(ranges))
    labels = description.class_labels
    multiclass = target_type == "multiclass"
    options = ScoringOptions(
        passthrough_columns=tuple(data.draw(st.lists(st.sampled_from(INPUTS.schema.names)))),
        passthrough_all=data.draw(st.booleans()),
        include_probabilities=data.draw(st.booleans()),
        include_probabilities_classes=tuple(
            data.draw(st.lists(st.sampled_from(labels), unique=True) if labels else st.just([]))
        ),
        include_prediction_status=data.draw(st.booleans()),
        prediction_warning_enabled=data.draw(st.booleans()),
        max_explanations=data.draw(st.integers(0, 3)),
        explanation_num_top_classes=data.draw(st.integers(1, 3) if multiclass else st.none()),
    )
    out = _run(description, options, PREDICTIONS[target_type])
    expected = passthrough_names(options, INPUTS.schema.names)
    assert out.schema.names == expected + model_column_names(description, options)


@given(
    written=st.lists(st.sampled_from(["A", "B", "C", "D"]), unique=True, max_size=4),
    passthrough=st.lists(st.sampled_from(["p", "q", "A"]), unique=True, max_size=3),
    data=st.data(),
)
def test_a_problem_exactly_when_two_output_columns_share_a_name(
    written: list[str], passthrough: list[str], data: st.DataObject
) -> None:
    remapping = data.draw(
        st.dictionaries(
            st.sampled_from(["A", "B", "C", "D", "p", "q"]),
            st.one_of(st.none(), st.sampled_from(["A", "B", "x", "y", "p"])),
        )
    )
    names = [new for _, new in remapped(passthrough + written, remapping)]
    problem = duplicate_name_problem(passthrough, written, remapping)
    assert (problem is not None) == (len(set(names)) < len(names))
    if problem is not None:
        key, message = problem
        assert key in ("columnNamesRemapping", "passthroughColumns") and message


@pytest.mark.parametrize(
    ("options", "key", "words"),
    [
        (
            ScoringOptions(passthrough_all=True),
            "passthroughColumnsSet",
            "the input column 'THRESHOLD' has the name of a column the scoring writes",
        ),
        (
            ScoringOptions(passthrough_columns=("THRESHOLD",)),
            "passthroughColumns",
            "list passthroughColumns without it",
        ),
        (
            ScoringOptions(
                column_names_remapping={
                    "readmitted_0.0_PREDICTION": "x",
                    "readmitted_1.0_PREDICTION": "x",
                }
            ),
            "columnNamesRemapping",
            "the same name 'x'",
        ),
        (
            ScoringOptions(
                include_prediction_status=True,
                column_names_remapping={"readmitted_PREDICTION": "prediction_status"},
            ),
            "columnNamesRemapping",
            "['readmitted_PREDICTION', 'prediction_status'] the same name 'prediction_status'",
        ),
        (
            ScoringOptions(passthrough_columns=("id",), column_names_remapping={"id": "THRESHOLD"}),
            "columnNamesRemapping",
            "the same name 'THRESHOLD'",
        ),
    ],
)
def test_an_output_column_is_never_silently_replaced_by_another(
    options: ScoringOptions, key: str, words: str
) -> None:
    inputs = INPUTS.append_column("THRESHOLD", pa.array([0.9, 0.9, 0.9]))
    with pytest.raises(JobFailure) as caught:
        check_output_names(_description("binary"), options, inputs.schema.names)
    assert words in caught.value.message and set(caught.value.errors) == {key}
    with pytest.raises(JobFailure, match=r"same name|has the name of"):
        assemble(_description("binary"), options, inputs, BINARY, status=OK3, explanations=None)


def test_a_name_clash_the_remapping_drops_is_no_clash() -> None:
    inputs = INPUTS.append_column("THRESHOLD", pa.array([0.9, 0.9, 0.9]))
    options = ScoringOptions(passthrough_all=True, column_names_remapping={"THRESHOLD": None})
    check_output_names(_description("binary"), options, inputs.schema.names)
    out = assemble(_description("binary"), options, inputs, BINARY, status=OK3, explanations=None)
    assert "THRESHOLD" not in out.schema.names
