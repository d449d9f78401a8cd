"""Parsing the scoring keys of a job spec, and checking them against a deployment."""

from __future__ import annotations

import copy

import pytest
from wire_examples import SCORE_TO_FILE_BODY

from scorecast.connectors.base import CsvSettings
from scorecast.domain.scoring_options import (
    AUTO_CHUNK_BYTES,
    ScoringOptions,
    check_against_model,
    target_bytes,
)
from scorecast.errors import InvalidInput, UnsupportedFeature
from scorecast.predictors.base import Feature, ModelDescription


def test_defaults_follow_the_reference() -> None:
    options = ScoringOptions.from_job_spec({})
    assert options.include_probabilities is True
    assert options.abort_on_error is True
    assert options.max_explanations == 0
    assert options.chunk_size == "auto"
    assert options.prediction_threshold is None
    assert options.csv_settings == CsvSettings()


def test_the_captured_wire_example() -> None:
    options = ScoringOptions.from_job_spec(copy.deepcopy(SCORE_TO_FILE_BODY))
    assert options.passthrough_all and options.include_prediction_status
    assert not options.abort_on_error and not options.include_probabilities
    assert options.prediction_threshold == 0.3 and options.max_explanations == 3
    assert options.column_names_remapping == {"a": "A", "b": None}
    assert options.csv_settings.delimiter == "\t"
    assert options.num_concurrent == 2


def test_remapping_as_a_list() -> None:
    options = ScoringOptions.from_job_spec(
        {"columnNamesRemapping": [{"inputName": "a", "outputName": None}]}
    )
    assert options.column_names_remapping == {"a": None}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"predictionThreshold": 1.5}, "predictionThreshold"),
        ({"includeProbabilities": "yes"}, "includeProbabilities"),
        ({"passthroughColumns": "a"}, "passthroughColumns"),
        ({"passthroughColumns": ["a"], "passthroughColumnsSet": "all"}, "passthroughColumns"),
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
        ScoringOptions.from_job_spec(spec)
    assert field in caught.value.errors


def test_unsupported_features_are_said_so() -> None:
    with pytest.raises(UnsupportedFeature):
        ScoringOptions.from_job_spec({"timeseriesSettings": {"type": "forecast"}})


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
