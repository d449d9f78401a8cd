"""The console's backfill form, turned into a ``service.backfills.BackfillRequest``. Pure.

``start`` and ``end`` are typed as wall-clock date-times (``<input type="datetime-local">``:
``2026-03-26T00:00``) in the definition's time zone, the zone its schedule's fire times are
read in; a typed UTC offset (``…+02:00``, ``…Z``) is taken as written. A wall-clock time that
the clocks skip (a daylight-saving gap) is refused rather than guessed; one that occurs twice
is its first occurrence. ``maxConcurrent`` is a whole number and ``rerun`` a checkbox; what
the service then checks (the range, its size, the limits) comes back keyed by the same fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scorecast.errors import InvalidInput
from scorecast.service.backfills import BackfillRequest

#: the form's fields (the API's names)
FIELDS = ("start", "end", "maxConcurrent", "rerun")
#: the range the empty form proposes: the last seven whole days
DEFAULT_DAYS = 7
_LOCAL = "%Y-%m-%dT%H:%M"
#: ASCII digits only: ``str.isdigit`` takes a superscript two, which ``int`` refuses, and an
#: Arabic-Indic one, which ``int`` reads as 1
_WHOLE_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class BackfillForm:
    """What the form shows: the typed values and the problems found, by field (problems of
    no field of the form, such as a definition without schedule, under ``form``)."""

    values: dict[str, str]
    errors: dict[str, str]


def default_form(zone: ZoneInfo, now: datetime) -> BackfillForm:
    """The empty form: the last ``DEFAULT_DAYS`` whole days in ``zone``, one job at a time."""
    today = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
    start = today - timedelta(days=DEFAULT_DAYS)
    values = {
        "start": start.strftime(_LOCAL),
        "end": today.strftime(_LOCAL),
        "maxConcurrent": "1",
        "rerun": "",
    }
    return BackfillForm(values, {})


def request_from_form(values: Mapping[str, str], zone: ZoneInfo) -> BackfillRequest:
    """The backfill the typed ``values`` ask for; ``InvalidInput`` whose ``errors`` name the
    form's fields otherwise."""
    errors: dict[str, str] = {}
    moments: dict[str, datetime] = {}
    for field in ("start", "end"):
        try:
            moments[field] = _moment(values.get(field, ""), zone)
        except ValueError as exc:
            errors[field] = str(exc)
    text = values.get("maxConcurrent", "").strip() or "1"
    if not _WHOLE_NUMBER.fullmatch(text):
        errors["maxConcurrent"] = "must be a whole number such as 1 or 4"
    if errors:
        raise InvalidInput(_summary(errors), errors)
    return BackfillRequest(
        start=moments["start"],
        end=moments["end"],
        max_concurrent=int(text),
        rerun=values.get("rerun", "") in ("true", "on", "yes"),
    )


def field_errors(exc: InvalidInput) -> dict[str, str]:
    """The service's errors keyed by form field; one of no form field goes under ``form``."""
    found: dict[str, str] = {}
    for key, value in exc.errors.items():
        field = key if key in FIELDS else "form"
        if field not in found:
            found[field] = _flat(value) if field != "form" else exc.message
    return found or {"form": exc.message}


def _moment(text: str, zone: ZoneInfo) -> datetime:
    text = text.strip()
    if not text:
        raise ValueError("is required: a date and time such as 2026-03-26T00:00")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time such as 2026-03-26T00:00") from None
    if not 1 < moment.year < 9999:
        raise ValueError("must be a date between the years 2 and 9998")
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    local = moment.replace(tzinfo=zone, fold=0)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment:
        raise ValueError(f"{text} does not exist in {zone.key}: the clocks skip it")
    return local.astimezone(UTC)


def _flat(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {_flat(inner)}" for key, inner in value.items())
    return str(value)


def _summary(errors: Mapping[str, str]) -> str:
    return "; ".join(f"{field}: {problem}" for field, problem in errors.items())
