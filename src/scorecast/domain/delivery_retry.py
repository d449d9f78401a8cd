"""When a failed notification delivery is tried again (pure).

Exponential backoff: the n-th retry waits ``base * factor**(n-1)`` seconds, at most
``max_delay``; a delivery is given up once its next attempt would start more than
``give_up_after`` seconds after it was first due. Only transient failures are retried: a
timeout, a connection error or a 5xx answer (and, for email, an SMTP 4xx reply); a 2xx is a
success; any other answer (a 3xx, which is never followed, or a 4xx) fails the delivery for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class AttemptResult(StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"  #: the receiver accepted it (2xx; the SMTP server took it)
    RETRYABLE = "retryable"  #: timeout, connection error, 5xx: worth trying again
    REJECTED = "rejected"  #: any other answer: trying again would not help


def classify_http(status_code: int | None) -> AttemptResult:
    """An HTTP attempt's result from its status code (``None``: no answer at all)."""
    if status_code is None or status_code >= 500:
        return AttemptResult.RETRYABLE
    if 200 <= status_code < 300:
        return AttemptResult.DELIVERED
    return AttemptResult.REJECTED


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry (seconds)."""

    base_delay: float = 5.0
    factor: float = 2.0
    max_delay: float = 3600.0
    give_up_after: float = 24 * 3600.0

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 = the first retry)."""
        if retry_number < 1:
            raise ValueError("retries are numbered from 1")
        exponent = min(retry_number - 1, 64)  # no float overflow on absurd counts
        return float(min(self.base_delay * self.factor**exponent, self.max_delay))

    def next_attempt(
        self, first_due: datetime, attempts_made: int, now: datetime
    ) -> datetime | None:
        """When to try again after ``attempts_made`` attempts, or None to give up."""
        moment = now + timedelta(seconds=self.delay(attempts_made))
        if (moment - first_due).total_seconds() > self.give_up_after:
            return None
        return moment
