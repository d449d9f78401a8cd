"""The run policies' decisions (pure): retry schedule, how a run ended, auto-disable, limits.

A definition's ``retry``, ``timeoutSeconds``, ``expectedDurationSeconds`` and
``autoDisableAfterFailures`` (``domain.definition_policies``) decide, for a run of the
definition:

- whether a failed scheduled run is tried again, and when: attempt ``n + 1`` of a fire starts
  ``delaySeconds * backoffFactor ** (n - 1)`` seconds after attempt ``n`` failed, while
  ``n < maxAttempts`` (``next_attempt_at``);
- how a run ended (``run_end``): a user's abort, and a run a newer fire replaced
  (``overlapPolicy: "cancelRunning"``), are neither a success nor a failure; a run aborted for
  a policy (timed out) or by ``abortOnError`` is a failure;
- how many fires failed in a row, newest first, counting only fires whose runs ended
  (``consecutive_failures``), and whether that disables the definition (``should_disable``);
- whether a run went on too long (``past``): the timeout aborts it, the expected duration
  raises the slow event once.

Times are naive UTC ``datetime`` values; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

#: the longest wait before a retry, whatever the policy (a backoff must not overflow)
MAX_RETRY_DELAY: Final = timedelta(days=7)
#: the reason a job aborted for running longer than its definition's ``timeoutSeconds``
TIMED_OUT: Final = "timed out"
#: the reason a job aborted because a newer fire of its definition replaced it
#: (``overlapPolicy: "cancelRunning"``): cancelled, like a user's abort
REPLACED: Final = "replaced by a newer fire (overlap policy cancelRunning)"


class RunEnd(StrEnum):
    """How a run ended, as the policies count it."""

    SUCCEEDED = "succeeded"  #: COMPLETED
    FAILED = "failed"  #: FAILED, or ABORTED by a policy or by ``abortOnError``
    CANCELLED = "cancelled"  #: ABORTED by a user or replaced: neither retried nor counted


class FireResult(StrEnum):
    """A fire as ``autoDisableAfterFailures`` counts it."""

    SUCCEEDED = "succeeded"  #: its (last) run completed
    FAILED = "failed"  #: its last run failed, or no job could be created for it
    NEUTRAL = "neutral"  #: still running or retrying, skipped, missed, cancelled by a user


def retry_delay(failed_attempt: int, delay_seconds: float, backoff_factor: float) -> timedelta:
    """The wait after attempt ``failed_attempt`` (1-based) failed: delay * factor^(n-1)."""
    if failed_attempt < 1:
        raise ValueError("attempts count from 1")
    limit = MAX_RETRY_DELAY.total_seconds()
    seconds = float(delay_seconds)
    for _ in range(failed_attempt - 1):
        seconds *= backoff_factor
        if seconds >= limit:
            return MAX_RETRY_DELAY
    return timedelta(seconds=min(max(seconds, 0.0), limit))


def next_attempt_at(
    failed_attempt: int,
    failed_at: datetime,
    *,
    max_attempts: int,
    delay_seconds: float,
    backoff_factor: float,
) -> datetime | None:
    """When the fire's next attempt may start, or None when ``max_attempts`` are used up."""
    if failed_attempt >= max_attempts:
        return None
    return failed_at + retry_delay(failed_attempt, delay_seconds, backoff_factor)


def run_end(status: str, *, abort_requested: bool, abort_reason: str | None) -> RunEnd:
    """How a job that ended with ``status`` counts (see ``RunEnd``).

    ``abort_requested`` without an ``abort_reason`` is a user's abort; a policy that aborts a
    job stores its reason (``TIMED_OUT``, ``REPLACED``). A replaced run is cancelled too.
    """
    if status == "COMPLETED":
        return RunEnd.SUCCEEDED
    if status == "ABORTED" and abort_requested and abort_reason in (None, REPLACED):
        return RunEnd.CANCELLED
    return RunEnd.FAILED


def consecutive_failures(results_newest_first: Iterable[FireResult]) -> int:
    """How many fires failed in a row before the latest success; neutral fires are passed over."""
    count = 0
    for result in results_newest_first:
        if result is FireResult.SUCCEEDED:
            break
        if result is FireResult.FAILED:
            count += 1
    return count


def should_disable(after_failures: int | None, consecutive: int) -> bool:
    """Whether ``consecutive`` failed fires reach ``autoDisableAfterFailures`` (None: never)."""
    return after_failures is not None and after_failures > 0 and consecutive >= after_failures


def past(started: datetime | None, now: datetime, seconds: float | None) -> bool:
    """Whether a run that started at ``started`` has gone on longer than ``seconds`` at ``now``."""
    if started is None or seconds is None:
        return False
    return now - started > timedelta(seconds=seconds)


def disabled_reason(failures: int, last_failure: str | None) -> str:
    """The reason stored on a definition disabled by ``autoDisableAfterFailures``."""
    reason = f"disabled automatically after {failures} consecutive failed runs"
    if last_failure:
        reason += f"; the last one: {last_failure}"
    return reason
