"""Parsing the scoring keys of a job spec, and checking them against a deployment."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from wire_examples import SCORE_TO_FILE_BODY

from scorecast.domain.job_spec import JobSpec
from scorecast.domain.scoring_options import (
    AUTO_CHUNK_BYTES,
    ScoringOptions,
    check_against_model,
    target_bytes,
)
from scorecast.errors import InvalidInput, UnsupportedFeature
from scorecast.predictors.base import Feature, ModelDescription

MINIMAL = {"deploymentId": "dep1", "intakeSettings": {"type": "localFile"}}


def options_of(raw: dict[str, Any]) -> ScoringOptions:
    """The scoring options of a wire spec (``MINIMAL`` plus ``raw``), parsed once."""
    return ScoringOptions.of(JobSpec.from_wire({**MINIMAL, **raw}))


def test_defaults_follow_the_reference() -> None:
    options = options_of({})
    assert options.include_probabilities is True
    assert options.abort_on_error is True
    assert options.max_explanations == 0
    assert options.prediction_threshold is None


def test_the_captured_wire_example() -> None:
    options = options_of(copy.deepcopy(SCORE_TO_FILE_BODY))
    assert options.passthrough_all and options.include_prediction_status
    assert not options.abort_on_error and not options.include_probabilities
    assert options.prediction_threshold == 0.3 and options.max_explanations == 3
    assert options.column_names_remapping == {"a": "A", "b": None}


def test_remapping_as_a_list() -> None:
    options = options_of({"columnNamesRemapping": [{"inputName": "a", "outputName": None}]})
    assert options.column_names_remapping == {"a": None}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"predictionThreshold": 1.5}, "predictionThreshold"),
        ({"includeProbabilities": "yes"}, "includeProbabilities"),
        ({"passthroughColumns": "a"}, "passthroughColumns"),
        ({"passthroughColumns": ["a"], "passthroughColumnsSet": "all"}, "passthroughColumnsSet"),
        ({"passthroughColumnsSet": "some"}, "passthroughColumnsSet"),
        ({"maxExplanations": -1}, "maxExplanations"),
        ({"chunkSize": "huge"}, "chunkSize"),
        ({"numConcurrent": 0}, "numConcurrent"),
        ({"csvSettings": {"delimiter": ";;"}}, "csvSettings"),
        ({"csvSettings": {"encoding": "klingon"}}, "csvSettings"),
        ({"columnNamesRemapping": 3}, "columnNamesRemapping"),
    ],
)
def test_bad_values_name_their_field(spec: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        options_of(spec)
    assert field in caught.value.errors


def test_unsupported_features_are_said_so() -> None:
    with pytest.raises(UnsupportedFeature):
        options_of({"timeseriesSettings": {"type": "forecast"}})


def test_explained_classes_are_parsed() -> None:
    top = options_of({"maxExplanations": 2, "explanationNumTopClasses": 3})
    assert top.explanation_num_top_classes == 3 and top.explanation_class_names == ()
    named = options_of({"maxExplanations": 2, "explanationClassNames": ["hi", "lo"]})
    assert named.explanation_class_names == ("hi", "lo")
    assert named.explanation_num_top_classes is None
    plain = options_of({"maxExplanations": 2})
    assert plain.explanation_num_top_classes is None and plain.explanation_class_names == ()


@pytest.mark.parametrize(
    ("spec", "field", "problem"),
    [
        ({"explanationNumTopClasses": 0}, "explanationNumTopClasses", "between 1 and 10"),
        ({"explanationNumTopClasses": 11}, "explanationNumTopClasses", "between 1 and 10"),
        ({"explanationNumTopClasses": True}, "explanationNumTopClasses", "between 1 and 10"),
        ({"explanationClassNames": "hi"}, "explanationClassNames", "must be a list"),
        ({"explanationClassNames": ["a"] * 11}, "explanationClassNames", "between 1 and 10"),
        ({"explanationClassNames": ["hi", "lo", "hi"]}, "explanationClassNames", "['hi']"),
        (
            {"explanationClassNames": ["hi"], "explanationNumTopClasses": 2},
            "explanationClassNames",
            "cannot be combined",
        ),
        (
            {"maxExplanations": 0, "explanationNumTopClasses": 2},
            "explanationNumTopClasses",
            "maxExplanations",
        ),
        (
            {"maxExplanations": None, "explanationClassNames": ["hi"]},
            "explanationClassNames",
            "maxExplanations",
        ),
    ],
)
def test_bad_explained_classes_name_their_field(spec: dict, field: str, problem: str) -> None:
    spec = {"maxExplanations": 3, **spec}
    with pytest.raises(InvalidInput) as caught:
        options_of(spec)
    assert not isinstance(caught.value, UnsupportedFeature)
    assert list(caught.value.errors) == [field]
    assert problem in caught.value.errors[field]


def test_chunk_size_to_bytes() -> None:
    assert target_bytes("auto") == target_bytes("dynamic") == AUTO_CHUNK_BYTES
    assert target_bytes(1234) == 1234


BINARY = ModelDescription(
    format="skops",
    target="y",
    target_type="binary",
    features=[Feature("a"), Feature("b", "categorical")],
    sha256="0" * 64,
    class_labels=["no", "yes"],
    positive_class="yes",
    can_explain=True,
)


def test_check_against_model() -> None:
    check_against_model(ScoringOptions(), BINARY, ["a", "b", "extra"])
    check_against_model(ScoringOptions(), BINARY, None)
    with pytest.raises(InvalidInput, match="lacks the model's feature columns: b"):
        check_against_model(ScoringOptions(), BINARY, ["a"])
    with pytest.raises(InvalidInput, match="maybe"):
        check_against_model(ScoringOptions(include_probabilities_classes=("maybe",)), BINARY, None)
    with pytest.raises(InvalidInput, match="not columns of the input"):
        check_against_model(ScoringOptions(passthrough_columns=("zz",)), BINARY, ["a", "b"])
    regression = ModelDescription(
        format="onnx",
        target="y",
        target_type="regression",
        features=[Feature("a")],
        sha256="0" * 64,
    )
    with pytest.raises(InvalidInput) as caught:
        check_against_model(ScoringOptions(prediction_threshold=0.3), regression, None)
    assert "predictionThreshold" in caught.value.errors


MULTICLASS = ModelDescription(
    format="skops",
    target="y",
    target_type="multiclass",
    features=[Feature("a")],
    sha256="0" * 64,
    class_labels=["lo", "mid", "hi"],
    can_explain=True,
)


def test_explained_classes_against_the_model() -> None:
    check_against_model(
        ScoringOptions(max_explanations=1, explanation_class_names=("hi", "lo")), MULTICLASS, None
    )
    check_against_model(
        ScoringOptions(max_explanations=1, explanation_num_top_classes=3), MULTICLASS, None
    )
    unknown = ScoringOptions(max_explanations=1, explanation_class_names=("hi", "max", "min"))
    with pytest.raises(InvalidInput) as caught:
        check_against_model(unknown, MULTICLASS, None)
    problem = caught.value.errors["explanationClassNames"]
    assert "['max', 'min']" in problem and "['lo', 'mid', 'hi']" in problem
    with pytest.raises(InvalidInput, match="asks for 4 classes") as caught:
        check_against_model(
            ScoringOptions(max_explanations=1, explanation_num_top_classes=4), MULTICLASS, None
        )
    assert "explanationNumTopClasses" in caught.value.errors
    with pytest.raises(InvalidInput, match="only applies to multiclass") as caught:
        check_against_model(
            ScoringOptions(max_explanations=1, explanation_class_names=("yes",)), BINARY, None
        )
    assert "explanationClassNames" in caught.value.errors


@pytest.mark.parametrize(
    ("options", "header", "field"),
    [
        (
            ScoringOptions(column_names_remapping={"y_PREDICTION": "THRESHOLD"}),
            None,
            "columnNamesRemapping",
        ),
        (
            ScoringOptions(
                include_prediction_status=True,
                column_names_remapping={"POSITIVE_CLASS": "prediction_status"},
            ),
            None,
            "columnNamesRemapping",
        ),
        (ScoringOptions(passthrough_columns=("THRESHOLD",)), None, "passthroughColumns"),
        (ScoringOptions(passthrough_all=True), ["a", "b", "THRESHOLD"], "passthroughColumnsSet"),
    ],
)
def test_two_output_columns_of_one_name_are_refused_at_submit(
    options: ScoringOptions, header: list[str] | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_against_model(options, BINARY, header)
    assert list(caught.value.errors) == [field]
    assert "name" in caught.value.errors[field]


def test_columns_of_passthrough_all_are_judged_when_the_header_is_known() -> None:
    options = ScoringOptions(passthrough_all=True)
    check_against_model(options, BINARY, None)  # the input's columns are not known yet
    check_against_model(options, BINARY, ["a", "b", "threshold"])
