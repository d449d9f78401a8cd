"""Prediction warning settings: defaults, the range jobs flag against, PATCH validation."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.model_description import Feature, ModelDescription
from scorecast.domain.prediction_warnings import (
    Boundaries,
    PredictionWarningSettings,
    outlier_range,
    parse_prediction_range,
    settings_of,
    updated_settings,
)
from scorecast.errors import InvalidInput

finite = st.floats(-1e12, 1e12, allow_nan=False)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[float, float]:
    low, high = sorted((draw(finite), draw(finite)))
    return (low, high)


def _model(target_type: str = "regression", prediction_range: Any = None) -> ModelDescription:
    return ModelDescription(
        format="onnx",
        target="y",
        target_type=target_type,  # type: ignore[arg-type]
        features=[Feature("x")],
        sha256="0" * 64,
        class_labels=[] if target_type == "regression" else ["a", "b"],
        prediction_range=prediction_range,
    )


settings_values = st.builds(
    PredictionWarningSettings,
    enabled=st.booleans(),
    custom_boundaries=st.none() | ranges().map(lambda r: Boundaries(*r)),
)


@given(settings_values)
def test_settings_round_trip_as_json(settings: PredictionWarningSettings) -> None:
    assert PredictionWarningSettings.from_dict(settings.to_dict()) == settings


@given(st.none() | ranges())
def test_unchanged_settings_are_enabled_exactly_when_the_model_has_a_range(
    default: tuple[float, float] | None,
) -> None:
    model = _model(prediction_range=default)
    settings = settings_of(None, model)
    assert settings == PredictionWarningSettings(enabled=default is not None)
    assert outlier_range(settings, model) == default


@given(settings_values, st.none() | ranges(), st.sampled_from(["regression", "binary"]))
def test_the_range_jobs_flag_against(
    settings: PredictionWarningSettings,
    default: tuple[float, float] | None,
    target_type: str,
) -> None:
    model = _model(target_type, default)
    got = outlier_range(settings, model)
    if not settings.enabled or target_type != "regression":
        assert got is None
    elif settings.custom_boundaries is not None:
        assert got == (settings.custom_boundaries.lower, settings.custom_boundaries.upper)
    else:
        assert got == default


@given(settings_values, ranges(), st.none() | ranges())
def test_a_patch_sets_enabled_and_boundaries(
    current: PredictionWarningSettings,
    custom: tuple[float, float],
    default: tuple[float, float] | None,
) -> None:
    model = _model(prediction_range=default)
    body = {"enabled": True, "customBoundaries": {"lower": custom[0], "upper": custom[1]}}
    changed = updated_settings(current, body, model)
    assert changed == PredictionWarningSettings(True, Boundaries(*custom))
    assert outlier_range(changed, model) == custom
    off = updated_settings(changed, {"enabled": False}, model)
    assert off == PredictionWarningSettings(False, Boundaries(*custom))  # boundaries kept
    assert outlier_range(off, model) is None


@given(ranges())
def test_null_boundaries_return_to_the_models_range(default: tuple[float, float]) -> None:
    model = _model(prediction_range=default)
    current = PredictionWarningSettings(True, Boundaries(-1.0, 1.0))
    changed = updated_settings(current, {"enabled": True, "customBoundaries": None}, model)
    assert changed == PredictionWarningSettings(True, None)
    assert outlier_range(changed, model) == default


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "predictionWarning"),
        ([], "predictionWarning"),
        ({}, "enabled"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": True, "extra": 1}, "extra"),
        ({"enabled": True, "customBoundaries": 5}, "customBoundaries"),
        ({"enabled": True, "customBoundaries": {"lower": 1}}, "customBoundaries"),
        ({"enabled": True, "customBoundaries": {"lower": 2, "upper": 1}}, "customBoundaries"),
        ({"enabled": True, "customBoundaries": {"lower": "1", "upper": 2}}, "lower"),
        ({"enabled": True, "customBoundaries": {"lower": 1, "upper": True}}, "upper"),
        ({"enabled": True, "customBoundaries": {"lower": 1, "upper": math.inf}}, "upper"),
        ({"enabled": True, "customBoundaries": {"lower": math.nan, "upper": 1}}, "lower"),
        ({"enabled": True, "customBoundaries": {"lower": -(10**400), "upper": 1}}, "lower"),
    ],
)
def test_malformed_patches_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        updated_settings(PredictionWarningSettings(), body, _model(prediction_range=(0.0, 1.0)))
    assert field in str(caught.value.errors), caught.value.errors


def test_enabling_needs_a_regression_model_with_some_range() -> None:
    with pytest.raises(InvalidInput) as caught:
        updated_settings(PredictionWarningSettings(), {"enabled": True}, _model())
    assert "customBoundaries" in caught.value.errors["predictionWarning"]
    with pytest.raises(InvalidInput) as caught:
        body = {"enabled": True, "customBoundaries": {"lower": 0, "upper": 1}}
        updated_settings(PredictionWarningSettings(), body, _model("binary"))
    assert "regression" in caught.value.errors["predictionWarning"]["enabled"]
    # turning warnings off is always possible
    off = updated_settings(PredictionWarningSettings(True), {"enabled": False}, _model("binary"))
    assert not off.enabled


@given(ranges())
def test_a_registration_range_round_trips_as_text(value: tuple[float, float]) -> None:
    assert parse_prediction_range(f"{value[0]!r}, {value[1]!r}") == value


@pytest.mark.parametrize("text", ["", "1", "1,2,3", "a,b", "2,1", "nan,1", "-inf,1", "1;2"])
def test_bad_registration_ranges_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_prediction_range(text)
    assert set(caught.value.errors) == {"predictionRange"}
