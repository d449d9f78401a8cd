"""What a deployment records about its model: pure data, stored as JSON with the deployment.

A ``ModelDescription`` is made once, at registration (``scorecast.predictors.describe_model``,
run in a child process of the service), and travels with every job. This module imports no
model library, so the API and the scheduler can use it without loading any.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from scorecast.errors import InvalidInput

TargetType = Literal["regression", "binary", "multiclass"]
FeatureType = Literal["numeric", "categorical"]
#: How the engine runs chunks in parallel for a model: in worker processes (models that use
#: one core per call) or in threads of one process (models that already use every core).
Parallelism = Literal["processes", "threads"]

TARGET_TYPES: tuple[TargetType, ...] = ("regression", "binary", "multiclass")
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Feature:
    """An input column the model needs: its name and whether it is numeric or categorical."""

    name: str
    type: FeatureType = "numeric"


@dataclass
class ModelDescription:
    """What a deployment knows about its model (stored as JSON, see ``to_dict``)."""

    format: str
    target: str
    target_type: TargetType
    features: list[Feature]
    sha256: str
    class_labels: list[str] = field(default_factory=list)
    positive_class: str | None = None
    prediction_threshold: float = DEFAULT_THRESHOLD
    trust_pickle: bool = False
    #: regression: the model's default prediction range (given at registration); in a job's
    #: plan, the range its predictions are flagged against (None: warnings off), see
    #: ``domain.prediction_warnings``
    prediction_range: tuple[float, float] | None = None
    can_explain: bool = False
    #: why ``can_explain`` is False, for the 422 a job asking for explanations gets
    explain_unavailable_reason: str | None = None
    parallelism: Parallelism = "processes"
    #: the format's own details (ONNX input layout, objective name ...), JSON-safe
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["features"] = [asdict(feature) for feature in self.features]
        data["prediction_range"] = list(self.prediction_range) if self.prediction_range else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelDescription:
        values = dict(data)
        values["features"] = [Feature(**feature) for feature in values.get("features", [])]
        raw_range = values.get("prediction_range")
        values["prediction_range"] = (
            (float(raw_range[0]), float(raw_range[1])) if raw_range else None
        )
        return cls(**values)


#: the longest feature name accepted at registration
MAX_FEATURE_NAME = 500


def parse_feature_names(text: str) -> list[str]:
    """Column names given at registration as ``"a,b,c"`` (spaces around names are dropped).

    ``InvalidInput`` at ``featureNames`` for an empty list, an empty or overlong name, or a
    name given twice.
    """
    names = [name.strip() for name in text.split(",")]
    if not text.strip():
        raise InvalidInput.at("featureNames", "must list at least one column name")
    if any(not name for name in names):
        raise InvalidInput.at("featureNames", "must not contain an empty name (check the commas)")
    too_long = next((name for name in names if len(name) > MAX_FEATURE_NAME), None)
    if too_long is not None:
        raise InvalidInput.at(
            "featureNames", f"names must be at most {MAX_FEATURE_NAME} characters"
        )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidInput.at("featureNames", f"{name!r} is given twice")
        seen.add(name)
    return names
