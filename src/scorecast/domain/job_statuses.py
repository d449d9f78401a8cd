"""Job statuses: the ones a job is stored with, and the ones the wire shows (pure).

A job is stored ``INITIALIZING`` → ``RUNNING`` → ``COMPLETED`` | ``ABORTED`` | ``FAILED``:
``ABORTED`` when a user (``DELETE``) or ``abortOnError`` stopped it, ``FAILED`` for every other
unsuccessful end (missing object, unreachable endpoint, bad input, crashed model or process).

The official client's ``wait_for_completion()`` stops only on a status starting with ``abort``
or ``error``; on ``FAILED`` it polls until its ``max_wait`` and raises a timeout. So the wire
shows every unsuccessful end as ``ABORTED`` (what the client understands: it raises
``AsyncProcessUnsuccessfulError`` at its next poll), and our field ``endReason`` tells a failure
from an abort. The list filter follows: ``status=ABORTED`` finds both, ``status=FAILED`` (ours)
finds the failures only.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final


class JobStatus(StrEnum):
    """A job's stored status; one member per state of its life."""

    INITIALIZING = "INITIALIZING"  #: created; waiting for its upload or for a worker
    RUNNING = "RUNNING"  #: claimed by a worker and scoring
    COMPLETED = "COMPLETED"  #: scored and its output committed
    ABORTED = "ABORTED"  #: stopped by a user or by abortOnError; nothing committed
    FAILED = "FAILED"  #: could not go on (see statusDetails); nothing committed


class EndReason(StrEnum):
    """Why a job ended: the wire field ``endReason`` (``null`` while the job has not ended)."""

    COMPLETED = "completed"  #: scored and committed
    ABORTED = "aborted"  #: a user aborted it, or abortOnError stopped it
    FAILED = "failed"  #: it could not go on; ``statusDetails`` names the cause


STATUSES: Final = tuple(status.value for status in JobStatus)
#: The statuses of a job that has not ended: waiting (``INITIALIZING``) or ``RUNNING``; a
#: definition's such jobs are its active runs (its overlap policy looks at them).
ACTIVE_STATUSES: Final = (JobStatus.INITIALIZING.value, JobStatus.RUNNING.value)
TERMINAL_STATUSES: Final = frozenset({JobStatus.COMPLETED, JobStatus.ABORTED, JobStatus.FAILED})

_END_REASONS: Final = {
    JobStatus.COMPLETED: EndReason.COMPLETED,
    JobStatus.ABORTED: EndReason.ABORTED,
    JobStatus.FAILED: EndReason.FAILED,
}


def wire_status(status: str) -> str:
    """The ``status`` the API shows for a stored status: ``FAILED`` is shown ``ABORTED``."""
    return JobStatus.ABORTED.value if status == JobStatus.FAILED else status


def end_reason(status: str) -> str | None:
    """The ``endReason`` the API shows for a stored status; ``None`` before the job ends."""
    reason = _END_REASONS.get(JobStatus(status)) if status in STATUSES else None
    return reason.value if reason is not None else None


def stored_statuses(filter_statuses: Iterable[str]) -> frozenset[str]:
    """The stored statuses a list filter ``status=...`` matches.

    Every filter value must be one of ``STATUSES`` (``ValueError`` otherwise). ``ABORTED``
    matches every job the wire shows ``ABORTED`` (aborted and failed); ``FAILED`` only failures.
    """
    matched: set[str] = set()
    for status in filter_statuses:
        if status not in STATUSES:
            raise ValueError(status)
        matched.add(status)
        if status == JobStatus.ABORTED:
            matched.add(JobStatus.FAILED.value)
    return frozenset(matched)


def shown_status(status: str) -> str:
    """The wire status with the end reason where it says more: ``ABORTED (failed)``."""
    shown = wire_status(status)
    return f"{shown} (failed)" if status == JobStatus.FAILED else shown
