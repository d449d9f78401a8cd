"""Model formats behind deployments: one ``Predictor`` protocol, one module per format."""

from __future__ import annotations

from scorecast.predictors.base import Feature, ModelDescription, Predictor
from scorecast.predictors.registry import describe_model, detect_format, load_predictor

__all__ = [
    "Feature",
    "ModelDescription",
    "Predictor",
    "describe_model",
    "detect_format",
    "load_predictor",
]
