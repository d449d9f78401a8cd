"""The words of a fire's ``reason``: why a scheduled time was missed, skipped or failed.

The decision itself is ``domain.schedule.firing_plan``; this module only says it in English,
with the times (UTC) and job ids a user needs to follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scorecast.domain.definition_policies import CatchUp
from scorecast.domain.schedule.firing_plan import ActiveRun, MissedSummary, PlannedFire, Why


@dataclass(frozen=True)
class Outage:
    """A span of time during which a scheduler could not reach the store (UTC)."""

    start: datetime
    end: datetime

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


def missed(fire: PlannedFire, catch_up: CatchUp, outage: Outage | None) -> str:
    moment = fire.scheduled_time
    why = why_not_fired(moment, outage)
    if fire.why is Why.OUTSIDE_WINDOW:
        return (
            f"not fired at {stamp(moment)}: {why}; it is now more than "
            f"{duration(timedelta(seconds=catch_up.window_seconds))} late"
        )
    if catch_up.max_runs == 0:
        return f"not fired at {stamp(moment)}: {why}; catchUp.maxRuns is 0: no missed time runs"
    latest = (
        "the latest fire time runs"
        if catch_up.max_runs == 1
        else (f"at most the latest {catch_up.max_runs} fire times run")
    )
    return (
        f"not fired at {stamp(moment)}: {why}; after a downtime {latest}, if less than "
        f"{duration(timedelta(seconds=catch_up.window_seconds))} late"
    )


def summary(summed: MissedSummary, outage: Outage | None) -> str:
    count = f"at least {summed.count}" if summed.at_least else str(summed.count)
    return (
        f"{count} fires from {stamp(summed.first)} to {stamp(summed.last)} passed "
        f"while {why_not_fired(summed.last, outage)}"
    )


def skipped(fire: PlannedFire) -> str:
    blocker = fire.blocked_by
    if isinstance(blocker, ActiveRun):
        previous = f"the previous run (job {blocker.job_id}) was still {blocker.status}"
    elif isinstance(blocker, datetime):
        previous = f"the run of {stamp(blocker)} was still INITIALIZING"
    else:
        previous = "the previous run was still active"
    if fire.why is Why.QUEUE_FULL:
        return f"queue full: {previous} and one run already waits behind it"
    return previous


def cancelled(job_ids: list[str]) -> str:
    return f"overlap policy cancelRunning: aborted the previous run (job {', '.join(job_ids)})"


def why_not_fired(moment: datetime, outage: Outage | None) -> str:
    if outage is not None and outage.covers(moment):
        return (
            f"the scheduler could not reach its database from {stamp(outage.start)} "
            f"to {stamp(outage.end)}"
        )
    return "no scheduler was running, or none could reach its database"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    if seconds == 3600:
        return "one hour"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} hours"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} seconds"
