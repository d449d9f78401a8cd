"""The schedule payload: DataRobot's five keys, plus our optional time zone and DST policies.

Accepted keys, wire spelling / Python spelling: value

- ``minute``: ``["*"]`` or integers 0-59
- ``hour``: ``["*"]`` or integers 0-23
- ``dayOfMonth`` / ``day_of_month``: ``["*"]`` or integers 1-31
- ``month``: ``["*"]`` or 1-12, or names (``"jan"``, ``"October"``), any case
- ``dayOfWeek`` / ``day_of_week``: ``["*"]`` or 0-6 with Sunday = 0, or names (``"sun"``)
- ``timezone``: optional IANA zone name; UTC when absent
- ``dstGapPolicy`` / ``dst_gap_policy``: optional ``"shift"`` (default) or ``"skip"``
- ``dstOverlapPolicy`` / ``dst_overlap_policy``: optional ``"first"`` (default), ``"last"``,
  ``"both"``
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple
from zoneinfo import ZoneInfo

from scorecast.domain.schedule.fields import (
    FIELDS,
    MAX_DAYS_IN_MONTH,
    FieldSpec,
    bits_to_values,
    lowest_bit,
)
from scorecast.domain.schedule.zones import (
    DstGapPolicy,
    DstOverlapPolicy,
    is_utc,
    load_zone,
)
from scorecast.errors import InvalidInput

#: The value that stands for "every": ``["*"]`` on the wire.
EVERY: Final = "*"

FieldValue = tuple[int, ...] | Literal["*"]

_OPTIONAL_KEYS: Final = {
    "timezone": "timezone",
    "dstGapPolicy": "dst_gap_policy",
    "dstOverlapPolicy": "dst_overlap_policy",
}
_SPELLINGS: Final = {
    **{spec.wire_key: spec.wire_key for spec in FIELDS},
    **{spec.python_key: spec.wire_key for spec in FIELDS},
    **{wire: wire for wire in _OPTIONAL_KEYS},
    **{python: wire for wire, python in _OPTIONAL_KEYS.items()},
}
_MISSING: Final = object()
_KNOWN_KEYS: Final = ", ".join([spec.wire_key for spec in FIELDS] + list(_OPTIONAL_KEYS))


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated schedule. Immutable and hashable; equal schedules have equal wire forms.

    Each of the five fields is ``"*"`` (every value) or the sorted, de-duplicated tuple of
    listed integers (names already turned into numbers). ``timezone`` and the two policies are
    None when the payload did not set them (the engine then uses UTC, ``shift`` and ``first``).
    """

    minute: FieldValue
    hour: FieldValue
    day_of_month: FieldValue
    month: FieldValue
    day_of_week: FieldValue
    timezone: str | None = None
    dst_gap_policy: DstGapPolicy | None = None
    dst_overlap_policy: DstOverlapPolicy | None = None

    #: What the engine computes with, derived once (not part of equality or hashing).
    plan: Plan = field(init=False, repr=False, compare=False)

    @property
    def never(self) -> bool:
        """True when no date can ever match (e.g. only days 30 and 31 of February)."""
        return self.plan.never

    @property
    def zone(self) -> ZoneInfo | None:
        """The schedule's zone, or None for UTC."""
        return self.plan.zone

    @property
    def gap_policy(self) -> DstGapPolicy:
        """The effective gap policy (``shift`` unless set)."""
        return self.plan.gap_policy

    @property
    def overlap_policy(self) -> DstOverlapPolicy:
        """The effective overlap policy (``first`` unless set)."""
        return self.plan.overlap_policy

    def __post_init__(self) -> None:
        masks: list[int] = []
        for spec in FIELDS:
            value = getattr(self, spec.python_key)
            if value == EVERY:
                masks.append(spec.all_bits)
                continue
            mask = 0
            if not isinstance(value, tuple) or not value:
                raise InvalidInput.at(f"schedule.{spec.wire_key}", f"invalid value {value!r}")
            for number in value:
                if type(number) is not int or not spec.low <= number <= spec.high:
                    raise InvalidInput.at(
                        f"schedule.{spec.wire_key}",
                        f"{number!r} is out of range {spec.low}-{spec.high}",
                    )
                mask |= 1 << number
            masks.append(mask)
        zone = None
        if self.timezone is not None:
            try:
                zone = load_zone(self.timezone)
            except LookupError:
                raise _unknown_zone(self.timezone) from None
        _derive(self, masks, zone)

    def to_wire(self) -> dict[str, Any]:
        """The DataRobot wire form: the five camelCase keys as lists, plus the optional keys set."""
        wire: dict[str, Any] = {}
        for spec in FIELDS:
            value = getattr(self, spec.python_key)
            wire[spec.wire_key] = [EVERY] if value == EVERY else list(value)
        if self.timezone is not None:
            wire["timezone"] = self.timezone
        if self.dst_gap_policy is not None:
            wire["dstGapPolicy"] = self.dst_gap_policy.value
        if self.dst_overlap_policy is not None:
            wire["dstOverlapPolicy"] = self.dst_overlap_policy.value
        return wire


class Plan(NamedTuple):
    """A schedule as the engine uses it: bitmasks (bit v = value v) and effective settings."""

    minute_bits: int
    hour_bits: int
    month_bits: int
    #: Days of the month that match whatever the weekday (bit d = day d).
    static_day_bits: int
    #: Weekdays (bit w, Sunday = 0) whose days match in addition to ``static_day_bits``.
    weekday_bits: int
    first_minute: int
    first_hour: int
    never: bool
    #: The zone, or None for UTC (the fast path).
    zone: ZoneInfo | None
    gap_policy: DstGapPolicy
    overlap_policy: DstOverlapPolicy


def _derive(schedule: Schedule, masks: list[int], zone: ZoneInfo | None) -> None:
    """Set the schedule's plan from the five masks (wire order) and the loaded zone."""
    minute_bits, hour_bits, dom_bits, month_bits, dow_bits = masks
    if schedule.day_of_week == EVERY:
        static, weekdays = dom_bits, 0  # dom_bits is every day when day_of_month is "*" too
    elif schedule.day_of_month == EVERY:
        static, weekdays = 0, dow_bits
    else:
        static, weekdays = dom_bits, dow_bits
    never = False
    if weekdays == 0 and lowest_bit(static) > 28:
        longest = max(MAX_DAYS_IN_MONTH[month] for month in bits_to_values(month_bits))
        never = lowest_bit(static) > longest
    plan = Plan(
        minute_bits,
        hour_bits,
        month_bits,
        static,
        weekdays,
        lowest_bit(minute_bits),
        lowest_bit(hour_bits),
        never,
        None if zone is None or is_utc(zone) else zone,
        schedule.dst_gap_policy or DstGapPolicy.SHIFT,
        schedule.dst_overlap_policy or DstOverlapPolicy.FIRST,
    )
    object.__setattr__(schedule, "plan", plan)


def _show(value: object) -> str:
    """A value as the user wrote it in JSON (``true``, ``"5"``, ``1.5``)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _unknown_zone(key: object) -> InvalidInput:
    return InvalidInput(
        f'schedule.timezone: unknown time zone {_show(key)}; use an IANA name like "Europe/London"',
        {"schedule": {"timezone": f"unknown time zone {_show(key)}"}},
    )


def _parse_item(spec: FieldSpec, item: object) -> int:
    """One list item as a number, or raise ValueError with the problem."""
    if type(item) is int:
        if spec.low <= item <= spec.high:
            return item
        raise ValueError(f"{item} is out of range {spec.low}-{spec.high}")
    if isinstance(item, str):
        number = spec.names.get(item.lower())
        if number is not None:
            return number
        if spec.names:
            raise ValueError(
                f"{_show(item)} is not a number {spec.low}-{spec.high} or a known name"
                f" (like {_show(next(iter(spec.names)))})"
            )
        raise ValueError(f"{_show(item)} is not an integer {spec.low}-{spec.high}")
    raise ValueError(f"{_show(item)} is not an integer {spec.low}-{spec.high}")


def _parse_values(spec: FieldSpec, raw: object) -> tuple[FieldValue, int]:
    """The field's value and mask, or raise ValueError with the problem."""
    if type(raw) is not list and type(raw) is not tuple:
        raise ValueError(f'must be a list such as ["*"] or [0, 30], not {_show(raw)}')
    if not raw:
        raise ValueError('must not be an empty list; use ["*"] for every value')
    low, high = spec.low, spec.high
    mask = 0
    stars = 0
    increasing = True
    previous = -1
    for item in raw:
        if type(item) is int and low <= item <= high:
            mask |= 1 << item
            if item <= previous:
                increasing = False
            previous = item
        elif item == EVERY:
            stars += 1
        else:
            mask |= 1 << _parse_item(spec, item)
            increasing = False
    if stars:
        if stars != len(raw):
            raise ValueError(f'"*" cannot be combined with other values in {_show(list(raw))}')
        return EVERY, spec.all_bits
    return (tuple(raw) if increasing else bits_to_values(mask)), mask


def _parse_policy(
    raw: object, policy: type[DstGapPolicy] | type[DstOverlapPolicy]
) -> DstGapPolicy | DstOverlapPolicy:
    choices = [member.value for member in policy]
    if isinstance(raw, str):
        for member in policy:
            if member.value == raw.lower():
                return member
    raise ValueError(f"{_show(raw)} is not one of {', '.join(choices)}")


def _spellings(
    payload: Mapping[str, Any], problems: dict[str, str]
) -> tuple[dict[str, object], dict[str, str]]:
    """The payload's values by wire key, and the spelling the user gave each key."""
    given: dict[str, object] = {}
    spelled: dict[str, str] = {}
    for key, raw in payload.items():
        wire = _SPELLINGS.get(key) if type(key) is str else None
        if wire is None:
            problems[str(key)] = f"unknown key {_show(key)}; the keys are {_KNOWN_KEYS}"
        elif wire in given:
            problems[wire] = f"given twice, as {spelled[wire]!r} and {key!r}"
        else:
            given[wire] = raw
            spelled[wire] = key
    return given, spelled


def _optional_keys(
    given: dict[str, object], problems: dict[str, str]
) -> tuple[str | None, ZoneInfo | None, dict[str, Any]]:
    """The time zone name and zone, and the policies by Python name."""
    timezone = given.get("timezone")
    zone: ZoneInfo | None = None
    if timezone is not None:
        if not isinstance(timezone, str):
            problems["timezone"] = f"must be an IANA time zone name, not {_show(timezone)}"
            timezone = None
        else:
            try:
                zone = load_zone(timezone)
            except LookupError:
                problems["timezone"] = f"unknown time zone {_show(timezone)}"
    policies: dict[str, Any] = {}
    for wire, policy in (("dstGapPolicy", DstGapPolicy), ("dstOverlapPolicy", DstOverlapPolicy)):
        raw = given.get(wire)
        if raw is not None:
            try:
                policies[_OPTIONAL_KEYS[wire]] = _parse_policy(raw, policy)
            except ValueError as exc:
                problems[wire] = str(exc)
    return timezone, zone, policies


def parse_schedule(payload: Mapping[str, Any]) -> Schedule:
    """Validate a schedule payload (wire or Python spelling) into a :class:`Schedule`.

    Raises :class:`~scorecast.errors.InvalidInput` whose ``errors`` is
    ``{"schedule": {wireKey: problem, ...}}`` with every problem found, each naming the value.
    """
    if type(payload) is not dict and not isinstance(payload, Mapping):
        raise InvalidInput.at("schedule", f"must be an object, not {_show(payload)}")
    problems: dict[str, str] = {}
    given, spelled = _spellings(payload, problems)
    values: list[FieldValue] = []
    masks: list[int] = []
    missing = 0
    for spec in FIELDS:
        raw_value = given.get(spec.wire_key, _MISSING)
        if raw_value is _MISSING:
            problems.setdefault(spec.wire_key, f'is required (e.g. ["*"] or [{spec.low}])')
            missing += 1
            continue
        try:
            value, mask = _parse_values(spec, raw_value)
        except ValueError as exc:
            problems.setdefault(spec.wire_key, str(exc))
            continue
        values.append(value)
        masks.append(mask)
    only_fields = len(given) == len(FIELDS) and not missing
    timezone, zone, policies = (None, None, {}) if only_fields else _optional_keys(given, problems)
    if problems:
        message = "; ".join(
            f"schedule.{spelled.get(key, key)}: {problem}" for key, problem in problems.items()
        )
        raise InvalidInput(message, {"schedule": problems})
    # Built without __init__: the values are validated already and the masks computed.
    schedule = object.__new__(Schedule)
    setter = object.__setattr__
    setter(schedule, "minute", values[0])
    setter(schedule, "hour", values[1])
    setter(schedule, "day_of_month", values[2])
    setter(schedule, "month", values[3])
    setter(schedule, "day_of_week", values[4])
    setter(schedule, "timezone", timezone)
    setter(schedule, "dst_gap_policy", policies.get("dst_gap_policy"))
    setter(schedule, "dst_overlap_policy", policies.get("dst_overlap_policy"))
    _derive(schedule, masks, zone)
    return schedule


__all__ = ["EVERY", "FieldValue", "Plan", "Schedule", "parse_schedule"]
