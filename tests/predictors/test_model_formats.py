"""The table of model formats: each row is a ``ModelFormat`` module under its own name, and a
format this server does not read fails with the names of those it does."""

from __future__ import annotations

import pytest

from scorecast.demo import MODEL
from scorecast.domain.model_description import Feature, ModelDescription
from scorecast.errors import ModelLoadError
from scorecast.predictors.registry import FORMATS, describe_model, load_predictor, model_format


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_is_listed_under_the_name_its_descriptions_carry(name: str) -> None:
    assert vars(FORMATS[name])["FORMAT"] == name
    assert model_format(name) is FORMATS[name]


def test_a_described_model_loads_through_the_format_it_names() -> None:
    description = describe_model(
        MODEL, target="readmitted", target_type="binary", positive_class="yes"
    )
    assert description.format == "onnx"
    assert load_predictor(MODEL, description).description == description


def test_an_unknown_format_names_the_supported_ones() -> None:
    stored = ModelDescription(
        format="h2o",
        target="y",
        target_type="regression",
        features=[Feature("x")],
        sha256="0" * 64,
    )
    with pytest.raises(ModelLoadError) as refused:
        load_predictor(MODEL, stored)
    assert refused.value.message == (
        "model format 'h2o' is not supported by this server; "
        "supported: lightgbm, mlflow, onnx, pickle, skops, xgboost"
    )
