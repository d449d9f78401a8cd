"""The five schedule fields: their ranges, names, and the bit tables the engine computes with.

A field's values are held as a bitmask: bit ``v`` is set when value ``v`` is listed (minute 0-59,
hour 0-23, day of month 1-31, month 1-12, day of week 0-6 with Sunday = 0). Masks make "the
next listed value at or after ``v``" one shift and one lowest-bit extraction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One schedule key: wire spelling, Python spelling, value range, and accepted names."""

    wire_key: str
    python_key: str
    low: int
    high: int
    names: dict[str, int]
    #: The mask with every value of the range set.
    all_bits: int = field(init=False)

    def __post_init__(self) -> None:
        all_bits = ((1 << (self.high + 1)) - 1) & ~((1 << self.low) - 1)
        object.__setattr__(self, "all_bits", all_bits)


MONTH_NAMES: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
WEEKDAY_NAMES: Final = (
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
)


def _names(full_names: tuple[str, ...], first: int) -> dict[str, int]:
    names: dict[str, int] = {}
    for number, name in enumerate(full_names, start=first):
        names[name] = number
        names[name[:3]] = number
    return names


MINUTE: Final = FieldSpec("minute", "minute", 0, 59, {})
HOUR: Final = FieldSpec("hour", "hour", 0, 23, {})
DAY_OF_MONTH: Final = FieldSpec("dayOfMonth", "day_of_month", 1, 31, {})
MONTH: Final = FieldSpec("month", "month", 1, 12, _names(MONTH_NAMES, 1))
DAY_OF_WEEK: Final = FieldSpec("dayOfWeek", "day_of_week", 0, 6, _names(WEEKDAY_NAMES, 0))

#: The five keys in DataRobot's wire order.
FIELDS: Final = (MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK)

_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
#: The most days a month can have (February: 29, in leap years).
MAX_DAYS_IN_MONTH: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2 and is_leap(year):
        return 29
    return _DAYS_IN_MONTH[month]


def lowest_bit(mask: int) -> int:
    """Index of the lowest set bit of a non-zero mask."""
    return (mask & -mask).bit_length() - 1


def bits_to_values(mask: int) -> tuple[int, ...]:
    """The set bits of ``mask`` in increasing order."""
    values = []
    while mask:
        low = mask & -mask
        values.append(low.bit_length() - 1)
        mask ^= low
    return tuple(values)


# Days (bit d for day d of the month) whose weekday is (first_weekday + d - 1) % 7 for each
# residue of d - 1 modulo 7.
_RESIDUE_DAYS: Final = tuple(
    sum(1 << day for day in range(residue + 1, 32, 7)) for residue in range(7)
)

#: WEEKDAY_DAYS[weekday_bits][first_weekday]: the days of a month whose 1st falls on
#: ``first_weekday`` (Sunday = 0) that fall on one of the weekdays in ``weekday_bits``.
WEEKDAY_DAYS: Final = tuple(
    tuple(
        sum(
            _RESIDUE_DAYS[(weekday - first) % 7]
            for weekday in range(7)
            if weekday_bits >> weekday & 1
        )
        for first in range(7)
    )
    for weekday_bits in range(128)
)

#: VALID_DAYS[n]: bits 1..n, the days of a month with n days.
VALID_DAYS: Final = tuple((1 << (n + 1)) - 2 for n in range(32))

_MONTH_SHAPES: dict[int, tuple[int, int]] = {}


def month_shape(year: int, month: int) -> tuple[int, int]:
    """``(weekday of the 1st with Sunday = 0, number of days)`` of a month, memoized."""
    key = year * 16 + month
    shape = _MONTH_SHAPES.get(key)
    if shape is None:
        shape = ((date(year, month, 1).weekday() + 1) % 7, days_in_month(year, month))
        if len(_MONTH_SHAPES) < 100_000:
            _MONTH_SHAPES[key] = shape
    return shape
