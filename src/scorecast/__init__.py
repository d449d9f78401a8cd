"""scorecast: self-hosted batch prediction that speaks DataRobot's Batch Prediction API."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
