"""The schedule payload: DataRobot's five keys, plus our optional time zone and DST policies.

Accepted keys (wire spelling first, Python spelling second):

==================  ==================  =================================================
``minute``          ``minute``          ``["*"]`` or integers 0-59
``hour``            ``hour``            ``["*"]`` or integers 0-23
``dayOfMonth``      ``day_of_month``    ``["*"]`` or integers 1-31
``month``           ``month``           ``["*"]`` or 1-12, or names (``"jan"``, ``"October"``)
``dayOfWeek``       ``day_of_week``     ``["*"]`` or 0-6 with Sunday = 0, or names
``timezone``        ``timezone``        optional IANA zone name; UTC when absent
``dstGapPolicy``    ``dst_gap_policy``  optional ``"shift"`` (default) or ``"skip"``
``dstOverlapPolicy`` ``dst_overlap_policy`` optional ``"first"`` (default), ``"last"``, ``"both"``
==================  ==================  =================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from scorecast.domain.schedule.fields import (
    DAY_OF_MONTH,
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

    # Derived data for the engine (not part of equality or hashing).
    minute_bits: int = field(init=False, repr=False, compare=False)
    hour_bits: int = field(init=False, repr=False, compare=False)
    month_bits: int = field(init=False, repr=False, compare=False)
    #: Days of the month that match whatever the weekday (bit d = day d).
    static_day_bits: int = field(init=False, repr=False, compare=False)
    #: Weekdays (bit w, Sunday = 0) whose days match in addition to ``static_day_bits``.
    weekday_bits: int = field(init=False, repr=False, compare=False)
    first_minute: int = field(init=False, repr=False, compare=False)
    first_hour: int = field(init=False, repr=False, compare=False)
    never: bool = field(init=False, repr=False, compare=False)
    #: The zone, or None for UTC (the fast path).
    zone: ZoneInfo | None = field(init=False, repr=False, compare=False)
    gap_policy: DstGapPolicy = field(init=False, repr=False, compare=False)
    overlap_policy: DstOverlapPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        masks = {}
        for spec in FIELDS:
            value = getattr(self, spec.python_key)
            if value == EVERY:
                masks[spec.wire_key] = spec.all_bits
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
            masks[spec.wire_key] = mask
        setter = object.__setattr__
        setter(self, "minute_bits", masks["minute"])
        setter(self, "hour_bits", masks["hour"])
        setter(self, "month_bits", masks["month"])
        setter(self, "first_minute", lowest_bit(masks["minute"]))
        setter(self, "first_hour", lowest_bit(masks["hour"]))
        dom_every = self.day_of_month == EVERY
        dow_every = self.day_of_week == EVERY
        if dom_every and dow_every:
            static, weekdays = DAY_OF_MONTH.all_bits, 0
        elif dow_every:
            static, weekdays = masks["dayOfMonth"], 0
        elif dom_every:
            static, weekdays = 0, masks["dayOfWeek"]
        else:
            static, weekdays = masks["dayOfMonth"], masks["dayOfWeek"]
        setter(self, "static_day_bits", static)
        setter(self, "weekday_bits", weekdays)
        never = False
        if weekdays == 0:
            longest = max(MAX_DAYS_IN_MONTH[month] for month in bits_to_values(masks["month"]))
            never = lowest_bit(static) > longest
        setter(self, "never", never)
        zone = None
        if self.timezone is not None:
            try:
                zone = load_zone(self.timezone)
            except LookupError:
                raise _unknown_zone(self.timezone) from None
            if is_utc(zone):
                zone = None
        setter(self, "zone", zone)
        setter(self, "gap_policy", self.dst_gap_policy or DstGapPolicy.SHIFT)
        setter(self, "overlap_policy", self.dst_overlap_policy or DstOverlapPolicy.FIRST)

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


def _parse_values(spec: FieldSpec, raw: object) -> FieldValue:
    if isinstance(raw, str | bytes) or not isinstance(raw, list | tuple):
        raise ValueError(f'must be a list such as ["*"] or [0, 30], not {_show(raw)}')
    if not raw:
        raise ValueError('must not be an empty list; use ["*"] for every value')
    stars = sum(1 for item in raw if isinstance(item, str) and item == EVERY)
    if stars:
        if stars != len(raw):
            raise ValueError(f'"*" cannot be combined with other values in {_show(list(raw))}')
        return EVERY
    mask = 0
    for item in raw:
        mask |= 1 << _parse_item(spec, item)
    return bits_to_values(mask)


def _parse_policy(
    raw: object, policy: type[DstGapPolicy] | type[DstOverlapPolicy]
) -> DstGapPolicy | DstOverlapPolicy:
    choices = [member.value for member in policy]
    if isinstance(raw, str):
        for member in policy:
            if member.value == raw.lower():
                return member
    raise ValueError(f"{_show(raw)} is not one of {', '.join(choices)}")


def parse_schedule(payload: Mapping[str, Any]) -> Schedule:
    """Validate a schedule payload (wire or Python spelling) into a :class:`Schedule`.

    Raises :class:`~scorecast.errors.InvalidInput` whose ``errors`` is
    ``{"schedule": {wireKey: problem, ...}}`` with every problem found, each naming the value.
    """
    if not isinstance(payload, Mapping):
        raise InvalidInput.at("schedule", f"must be an object, not {_show(payload)}")
    given: dict[str, object] = {}
    spelled: dict[str, str] = {}
    problems: dict[str, str] = {}
    for key, raw in payload.items():
        wire = _SPELLINGS.get(key) if isinstance(key, str) else None
        if wire is None:
            problems[str(key)] = f"unknown key {_show(key)}; the keys are {_KNOWN_KEYS}"
        elif wire in given:
            problems[wire] = f"given twice, as {spelled[wire]!r} and {key!r}"
        else:
            given[wire] = raw
            spelled[wire] = key
    values: dict[str, FieldValue] = {}
    for spec in FIELDS:
        if spec.wire_key not in given:
            problems.setdefault(spec.wire_key, f'is required (e.g. ["*"] or [{spec.low}])')
            continue
        try:
            values[spec.python_key] = _parse_values(spec, given[spec.wire_key])
        except ValueError as exc:
            problems.setdefault(spec.wire_key, str(exc))
    timezone = given.get("timezone")
    if timezone is not None:
        if not isinstance(timezone, str):
            problems["timezone"] = f"must be an IANA time zone name, not {_show(timezone)}"
        else:
            try:
                load_zone(timezone)
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
    if problems:
        message = "; ".join(
            f"schedule.{spelled.get(key, key)}: {problem}" for key, problem in problems.items()
        )
        raise InvalidInput(message, {"schedule": problems})
    return Schedule(
        minute=values["minute"],
        hour=values["hour"],
        day_of_month=values["day_of_month"],
        month=values["month"],
        day_of_week=values["day_of_week"],
        timezone=timezone if isinstance(timezone, str) else None,
        **policies,
    )


__all__ = ["EVERY", "FieldValue", "Schedule", "parse_schedule"]
