"""Which notification policies an event matches, and how often a policy may deliver (pure).

- A policy names one ``eventType`` or one ``eventGroup`` (``EVENT_GROUPS``), and optionally the
  one job definition it watches (``relatedEntityId``; absent: every definition of the
  organization).
- ``maximalFrequency`` is an ISO 8601 duration (``PT1H``, ``P1D``, ``PT30M``): at most one
  delivery per period. ``plan_delivery`` decides, for an event at ``now``, whether it is sent
  now or folded into the one delivery waiting for the end of the current period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from scorecast.domain.events import EventType

#: event groups a policy may name instead of one event type
EVENT_GROUPS: dict[str, frozenset[EventType]] = {
    "batch_predictions.all": frozenset(EventType),
    "batch_predictions.scheduler.all": frozenset(
        {EventType.SKIPPED, EventType.MISSED, EventType.AUTO_DISABLED}
    ),
    "batch_predictions.problems.all": frozenset(set(EventType) - {EventType.SUCCESS}),
}

#: ASCII digits only: ``\d`` would also take other scripts' digits (``P\u0663D``)
_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?"
)
#: the seconds in one of each unit of ``_DURATION``
_UNIT_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
#: the longest ``maximalFrequency`` (a year): longer periods would mean "never"
MAX_PERIOD = timedelta(days=366)
#: a number with more significant digits is beyond ``MAX_PERIOD`` in any unit (and is never
#: converted: ``int`` refuses very long numbers, and ``timedelta`` overflows on large ones)
_MAX_DIGITS = len(str(int(MAX_PERIOD.total_seconds())))
_SYNTAX = "must be an ISO 8601 duration such as PT1H, PT30M or P1D"
_RANGE = "must be longer than 0 seconds and at most a year (P366D)"


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds (ASCII digits), longer
    than 0 and at most ``MAX_PERIOD``; ValueError with a user-facing message otherwise."""
    stripped = text.strip()
    cleaned = stripped.upper()  # checked before: upper() makes U+017F (long s) an ASCII "S"
    match = _DURATION.fullmatch(cleaned) if stripped.isascii() else None
    if match is None or cleaned in ("P", "PT") or cleaned.endswith("T"):
        raise ValueError(_SYNTAX)
    numbers = {unit: digits.lstrip("0") for unit, digits in match.groupdict().items() if digits}
    if not numbers:
        raise ValueError(_SYNTAX)
    if any(len(digits) > _MAX_DIGITS for digits in numbers.values()):
        raise ValueError(_RANGE)
    seconds = sum(int(digits or "0") * _UNIT_SECONDS[unit] for unit, digits in numbers.items())
    if seconds <= 0 or seconds > MAX_PERIOD.total_seconds():
        raise ValueError(_RANGE)
    return timedelta(seconds=seconds)


def events_of(event_type: str | None, event_group: str | None) -> frozenset[EventType]:
    """The event types a policy with this ``eventType`` or ``eventGroup`` matches."""
    if event_type is not None:
        return frozenset({EventType(event_type)})
    if event_group is not None:
        return EVENT_GROUPS[event_group]
    return frozenset()


def policy_matches(
    event_type: EventType,
    definition_id: str | None,
    *,
    policy_events: frozenset[EventType],
    watched_definition: str | None,
) -> bool:
    """Whether a policy matching ``policy_events`` (for ``watched_definition``, None: all)
    matches an event of ``event_type`` about ``definition_id``."""
    if event_type not in policy_events:
        return False
    return watched_definition is None or watched_definition == definition_id


@dataclass(frozen=True)
class DeliveryPlan:
    """``fold``: add the event to the policy's waiting delivery; else a new delivery is due at
    ``due``, and the policy's current period starts at ``period_start``."""

    fold: bool
    due: datetime
    period_start: datetime


def plan_delivery(
    period: timedelta | None,
    period_start: datetime | None,
    now: datetime,
    *,
    has_waiting: bool,
) -> DeliveryPlan:
    """How an event at ``now`` is delivered under a policy limited to one delivery per
    ``period`` (None: no limit), whose last delivery was due at ``period_start``.

    Outside the period: sent now, and a new period starts now. Inside it: folded into the
    delivery already waiting for the period's end, or a delivery is made due at the period's
    end (which becomes the next period's start).
    """
    if period is None or period_start is None or now >= period_start + period:
        return DeliveryPlan(fold=False, due=now, period_start=now)
    if has_waiting:
        return DeliveryPlan(fold=True, due=period_start, period_start=period_start)
    end = period_start + period
    return DeliveryPlan(fold=False, due=end, period_start=end)
