"""The console's schedule editor form, turned into DataRobot's schedule payload and back.

Each of the five fields is typed as a person would: ``*`` (every value), a comma-separated
list (``0,30``), ranges (``1-5``) and names (``mon,wed``, ``jan``). The payload is checked by
``domain.schedule.parse_schedule``, whose errors come back keyed by form field. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scorecast.domain.schedule import Schedule, parse_schedule
from scorecast.errors import InvalidInput

#: the form's fields, in the order they are shown, with their labels
FIELDS = (
    ("minute", "Minute"),
    ("hour", "Hour"),
    ("dayOfMonth", "Day of month"),
    ("month", "Month"),
    ("dayOfWeek", "Day of week"),
)
OPTIONAL = ("timezone", "dstGapPolicy", "dstOverlapPolicy")
#: digits are ASCII only: ``str.isdigit`` and ``\d`` take superscript and Arabic-Indic ones too
_NUMBER = re.compile(r"[0-9]+")
_RANGE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})")
#: a typed range may list at most this many values (a minute field has 60)
_MAX_RANGE = 60


@dataclass(frozen=True)
class ScheduleForm:
    """What the editor shows: the typed values and the problems found, by field."""

    values: dict[str, str]
    errors: dict[str, str]


def form_from_payload(payload: Mapping[str, Any] | None) -> ScheduleForm:
    """The editor's values for a stored schedule (every field ``*`` without one)."""
    values = {name: "*" for name, _ in FIELDS} | {name: "" for name in OPTIONAL}
    for name, _ in FIELDS:
        if payload is not None and isinstance(payload.get(name), list):
            values[name] = ",".join(str(item) for item in payload[name])
    for name in OPTIONAL:
        if payload is not None and isinstance(payload.get(name), str):
            values[name] = payload[name]
    return ScheduleForm(values, {})


def payload_from_form(values: Mapping[str, str]) -> tuple[dict[str, Any], Schedule]:
    """The schedule payload of typed ``values`` and its parsed schedule; InvalidInput whose
    ``errors`` name the form's fields otherwise."""
    payload: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, _ in FIELDS:
        try:
            payload[name] = _items(name, values.get(name, ""))
        except InvalidInput as exc:
            errors.update(exc.errors)
    for name in OPTIONAL:
        if values.get(name, "").strip():
            payload[name] = values[name].strip()
    if errors:
        raise InvalidInput(_summary(errors), errors)
    try:
        return payload, parse_schedule(payload)
    except InvalidInput as exc:
        found = field_errors(exc)
        raise InvalidInput(_summary(found), found) from None


def field_errors(exc: InvalidInput) -> dict[str, str]:
    """A schedule's errors keyed by form field (``schedule.minute`` -> ``minute``)."""
    nested = exc.errors.get("schedule", exc.errors)
    if not isinstance(nested, Mapping) or not nested:
        return {"schedule": exc.message}
    return {str(key): str(value) for key, value in nested.items()}


def _items(name: str, text: str) -> list[int | str]:
    tokens = [token.strip() for token in text.split(",")]
    if tokens == [""]:
        raise InvalidInput.at(name, "is required: * for every value, or a list such as 0,30")
    items: list[int | str] = []
    for token in tokens:
        if not token:
            raise InvalidInput.at(name, "has an empty item between two commas")
        ranged = _RANGE.fullmatch(token)
        if ranged:
            low, high = int(ranged.group(1)), int(ranged.group(2))
            if low > high or high - low >= _MAX_RANGE:
                raise InvalidInput.at(name, f"the range {token} must go up (such as 1-5)")
            items.extend(range(low, high + 1))
        elif _NUMBER.fullmatch(token):
            items.append(int(token))
        else:
            items.append(token)
    return items


def _summary(errors: Mapping[str, str]) -> str:
    return "; ".join(f"{field}: {problem}" for field, problem in errors.items())
