"""Secrets a job spec can carry, and the spec without them (pure).

DataRobot's ``predictionInstance`` names the prediction server a job scores on, with the keys
to reach it (``apiKey``, ``datarobotKey``). scorecast scores in its own workers and never calls
a prediction server, so those keys have no use here: the spec gate drops them (they are never
stored) and the serializers drop them again from anything stored before (they are never
returned). Every other secret reaches a job by reference (``credentialId``), never in the spec.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

#: Secret-bearing fields of a job spec, as key paths.
SECRET_SPEC_FIELDS: Final = (
    ("predictionInstance", "apiKey"),
    ("predictionInstance", "datarobotKey"),
)
#: The keys of ``predictionInstance`` (DataRobot's, all optional).
PREDICTION_INSTANCE_KEYS: Final = ("hostName", "sslEnabled", "apiKey", "datarobotKey")


def without_secrets(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``spec`` without any of ``SECRET_SPEC_FIELDS``."""
    clean = {key: json_copy(value) for key, value in spec.items()}
    for parent, key in SECRET_SPEC_FIELDS:
        holder = clean.get(parent)
        if isinstance(holder, dict):
            holder.pop(key, None)
    return clean


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and scalars): several times faster than
    ``copy.deepcopy``, which a page of 100 jobs felt; anything else is copied by deepcopy."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return copy.deepcopy(value)


def prediction_instance_problems(value: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with a ``predictionInstance`` object, by key (empty when nothing)."""
    problems: dict[str, str] = {}
    for key, item in value.items():
        if key not in PREDICTION_INSTANCE_KEYS:
            problems[str(key)] = "unknown field"
        elif key == "sslEnabled" and not isinstance(item, bool | None):
            problems[key] = "must be true or false"
        elif key != "sslEnabled" and not isinstance(item, str | None):
            problems[key] = "must be a string"
    return problems
