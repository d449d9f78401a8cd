"""Schedules: DataRobot's schedule payload, time zones with DST policies, fire times, English.

Pure domain code: no database and no clock (the moment to compute from is a parameter).
"""

from __future__ import annotations

from scorecast.domain.schedule.describe import Description, describe
from scorecast.domain.schedule.fires import never_fires, next_fire_after, next_fires
from scorecast.domain.schedule.payload import EVERY, Schedule, parse_schedule
from scorecast.domain.schedule.zones import DstGapPolicy, DstOverlapPolicy

__all__ = [
    "EVERY",
    "Description",
    "DstGapPolicy",
    "DstOverlapPolicy",
    "Schedule",
    "describe",
    "never_fires",
    "next_fire_after",
    "next_fires",
    "parse_schedule",
]
