"""Events a definition's runs raise, for notifications (pure).

The names of DataRobot's notification API where it has one (``batch_predictions.success``,
``batch_predictions.failed``, ``batch_predictions.scheduler.auto_disabled``), ours otherwise,
in the same dotted style. An event is raised inside the transaction that records what it tells
(a job's end, a fire's outcome, a definition disabled), so it is delivered if and only if that
change was committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventType(StrEnum):
    """What happened; the ``event`` field of a notification and a policy's ``eventType``."""

    SUCCESS = "batch_predictions.success"  #: a job of the definition completed
    FAILED = "batch_predictions.failed"  #: a job of the definition failed or was aborted
    AUTO_DISABLED = "batch_predictions.scheduler.auto_disabled"  #: too many failed fires
    SKIPPED = "batch_predictions.scheduler.skipped"  #: a fire was skipped by the overlap policy
    MISSED = "batch_predictions.scheduler.missed"  #: a fire time passed without a run
    TIMED_OUT = "batch_predictions.timed_out"  #: a run exceeded its ``timeoutSeconds``
    SLOW = "batch_predictions.slow"  #: a run exceeded its ``expectedDurationSeconds``


@dataclass(frozen=True)
class Event:
    """One event: its type and the objects it is about (ids as stored; times UTC, naive)."""

    type: EventType
    org_id: str
    definition_id: str | None = None
    job_id: str | None = None
    scheduled_time: datetime | None = None
    reason: str | None = None
