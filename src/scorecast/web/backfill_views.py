"""What the console shows of backfills: each one with its progress, in the definition's zone.

``recent_backfills`` feeds the definition page's list; ``BackfillRow.live`` is the JSON that
``static/console.js`` polls to move a running backfill's figures and bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from scorecast.service import backfills
from scorecast.service.caller import Caller
from scorecast.store.models import Backfill, JobDefinition
from scorecast.web import present

#: how many backfills the definition page lists (the newest; the rest are a link away)
RECENT = 5
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class BackfillRow:
    """A backfill and its progress, with its range in the definition's zone."""

    backfill: Backfill
    progress: backfills.Progress
    zone: ZoneInfo

    @property
    def path(self) -> str:
        return f"/definitions/{self.backfill.definition_id}/backfills/{self.backfill.id}"

    @property
    def active(self) -> int:
        """Jobs waiting or running now."""
        return self.progress.waiting + self.progress.running

    @property
    def settled(self) -> int:
        """Fire times that are over: done, failed, aborted, skipped or cancelled."""
        return self.progress.total - self.progress.planned - self.active

    @property
    def percentage(self) -> float:
        total = self.progress.total
        return round(100.0 * self.settled / total, 1) if total else 100.0

    @property
    def running(self) -> bool:
        return self.backfill.status == "running"

    @property
    def range_text(self) -> str:
        start = local_time(self.backfill.start_time, self.zone)
        return f"{start} to {local_time(self.backfill.end_time, self.zone)}"

    def live(self) -> dict[str, Any]:
        """The figures the page moves while the backfill runs."""
        return {
            "status": self.backfill.status,
            "finished": not self.running,
            "percentage": self.percentage,
            "active": self.active,
            **vars(self.progress),
        }


def zone_of(definition: JobDefinition) -> ZoneInfo:
    """The zone of the definition's schedule (UTC without one, or when it no longer parses)."""
    schedule = present.readable_schedule(definition.schedule)
    zone = schedule.zone if schedule is not None else None
    return zone or _UTC


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-03-26 02:30 CET`` (naive moments are UTC, as the store keeps them)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=_UTC)
    return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def backfill_rows(session: Session, page: list[Backfill], zone: ZoneInfo) -> list[BackfillRow]:
    progress = backfills.progress_of(session, page)
    return [BackfillRow(backfill, progress[backfill.id], zone) for backfill in page]


def recent_backfills(
    session: Session, caller: Caller, definition: JobDefinition, *, offset: int = 0, limit: int
) -> tuple[list[BackfillRow], int]:
    """A page of the definition's backfills, newest first, and how many there are."""
    page, total = backfills.list_backfills(
        session, caller, definition.id, offset=offset, limit=limit
    )
    return backfill_rows(session, page, zone_of(definition)), total
