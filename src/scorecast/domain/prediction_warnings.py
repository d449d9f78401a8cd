"""A deployment's prediction warning settings (DataRobot's ``predictionWarning``), pure.

A regression prediction outside the deployment's boundaries is flagged
``IS_OUTLIER_PREDICTION=true`` in the output of a job with ``predictionWarningEnabled``, when
the deployment's warnings are enabled. The boundaries are the settings' ``customBoundaries``,
else the model's default range: the ``predictionRange`` given at registration
(``ModelDescription.prediction_range``). A deployment whose settings were never changed has
its warnings enabled exactly when its model has a default range.

Stored as JSON with the deployment (``to_dict``); on the wire (``deployments/{id}/settings/``)
as ``{"predictionWarning": {"enabled": bool, "customBoundaries": {"lower", "upper"} | null}}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from scorecast.errors import InvalidInput

if TYPE_CHECKING:
    from scorecast.domain.model_description import ModelDescription

_FIELD = "predictionWarning"


@dataclass(frozen=True)
class Boundaries:
    """Predictions below ``lower`` or above ``upper`` are outliers (a bound itself is not)."""

    lower: float
    upper: float

    def to_dict(self) -> dict[str, float]:
        return {"lower": self.lower, "upper": self.upper}


@dataclass(frozen=True)
class PredictionWarningSettings:
    enabled: bool = False
    #: None: the model's default range
    custom_boundaries: Boundaries | None = None

    def to_dict(self) -> dict[str, Any]:
        custom = self.custom_boundaries
        return {"enabled": self.enabled, "customBoundaries": custom.to_dict() if custom else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PredictionWarningSettings:
        custom = data.get("customBoundaries")
        return cls(
            enabled=bool(data.get("enabled")),
            custom_boundaries=(
                Boundaries(float(custom["lower"]), float(custom["upper"])) if custom else None
            ),
        )


def settings_of(
    stored: dict[str, Any] | None, description: ModelDescription
) -> PredictionWarningSettings:
    """The deployment's settings: ``stored`` ones, else enabled when the model has a range."""
    if stored is not None:
        return PredictionWarningSettings.from_dict(stored)
    return PredictionWarningSettings(enabled=description.prediction_range is not None)


def outlier_range(
    settings: PredictionWarningSettings, description: ModelDescription
) -> tuple[float, float] | None:
    """The (lower, upper) range that jobs flag predictions against; None when warnings are off,
    the model is not a regression, or no range is known."""
    if not settings.enabled or description.target_type != "regression":
        return None
    if settings.custom_boundaries is not None:
        return (settings.custom_boundaries.lower, settings.custom_boundaries.upper)
    return description.prediction_range


def updated_settings(
    current: PredictionWarningSettings, body: Any, description: ModelDescription
) -> PredictionWarningSettings:
    """``current`` changed by the ``predictionWarning`` object of a settings PATCH.

    ``enabled`` is required; ``customBoundaries`` absent keeps the current boundaries, null
    returns to the model's default range, ``{"lower": x, "upper": y}`` (finite numbers,
    ``x <= y``) sets custom ones. ``InvalidInput`` naming the field for anything else, for
    enabling warnings on a classification deployment, and for enabling them with no range
    to use.
    """
    if not isinstance(body, dict):
        raise InvalidInput.at(_FIELD, "must be an object")
    unknown = sorted(set(body) - {"enabled", "customBoundaries"})
    if unknown:
        raise InvalidInput(
            f"{_FIELD}: unknown field(s) {', '.join(unknown)}",
            {_FIELD: {key: "is not a prediction warning setting" for key in unknown}},
        )
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise InvalidInput.at(f"{_FIELD}.enabled", "is required and must be true or false")
    settings = replace(current, enabled=enabled)
    if "customBoundaries" in body:
        settings = replace(settings, custom_boundaries=_boundaries(body["customBoundaries"]))
    if not enabled:
        return settings
    if description.target_type != "regression":
        raise InvalidInput.at(
            f"{_FIELD}.enabled",
            f"prediction warnings are only for regression deployments, this one is "
            f"{description.target_type}",
        )
    if outlier_range(settings, description) is None:
        raise InvalidInput.at(
            f"{_FIELD}.customBoundaries",
            "is required: the model has no default prediction range (none was given at "
            "registration)",
        )
    return settings


def _boundaries(value: Any) -> Boundaries | None:
    field = f"{_FIELD}.customBoundaries"
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"lower", "upper"}:
        raise InvalidInput.at(field, 'must be null or {"lower": number, "upper": number}')
    bounds: dict[str, float] = {}
    for key in ("lower", "upper"):
        number = value[key]
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise InvalidInput.at(f"{field}.{key}", "must be a number")
        try:
            bounds[key] = float(number)  # an int beyond float's range overflows
        except OverflowError:
            bounds[key] = math.inf
        if not math.isfinite(bounds[key]):
            raise InvalidInput.at(f"{field}.{key}", "must be finite")
    if bounds["lower"] > bounds["upper"]:
        raise InvalidInput.at(field, "lower must not exceed upper")
    return Boundaries(bounds["lower"], bounds["upper"])


def parse_prediction_range(text: str) -> tuple[float, float]:
    """A range given at registration as ``"low,high"`` (finite numbers, low <= high);
    ``InvalidInput`` at ``predictionRange`` otherwise."""
    parts = [part.strip() for part in text.split(",")]
    try:
        low, high = (float(part) for part in parts)
    except ValueError:
        raise InvalidInput.at("predictionRange", 'must be two numbers "low,high"') from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidInput.at("predictionRange", "must be finite numbers")
    if low > high:
        raise InvalidInput.at("predictionRange", "low must not exceed high")
    return (low, high)
