"""When a failed notification delivery is tried again (pure).

Exponential backoff: the n-th retry waits ``base * factor**(n-1)`` seconds, at most
``max_delay``, and never past the deadline ``give_up_after`` seconds after the delivery was
first due: a retry that would come later is made at the deadline instead, and an attempt that
fails at or after the deadline gives the delivery up. Only transient failures are retried: a
timeout, a connection error, a 5xx answer, a 408 (request timeout) or a 429 (too many
requests), and for email an SMTP 4xx reply. A receiver's ``Retry-After`` (``retry_after``)
delays the retry further, up to ``max_delay``. A 2xx is a success; any other answer (a 3xx,
which is never followed, or another 4xx) fails the delivery for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

#: the 4xx answers that mean "not now" rather than "never"
RETRIED_CLIENT_ERRORS = frozenset({408, 429})


class AttemptResult(StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"  #: the receiver accepted it (2xx; the SMTP server took it)
    RETRYABLE = "retryable"  #: timeout, connection error, 5xx, 408, 429: worth trying again
    REJECTED = "rejected"  #: any other answer: trying again would not help


def classify_http(status_code: int | None) -> AttemptResult:
    """An HTTP attempt's result from its status code (``None``: no answer at all)."""
    if status_code is None or status_code >= 500 or status_code in RETRIED_CLIENT_ERRORS:
        return AttemptResult.RETRYABLE
    if 200 <= status_code < 300:
        return AttemptResult.DELIVERED
    return AttemptResult.REJECTED


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait (whole seconds or an HTTP-date,
    compared with ``now``, which must be timezone-aware); None when absent or unreadable."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000": UTC, as HTTP-dates are
        return None
    return max(0.0, (moment - now).total_seconds())


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
        self,
        first_due: datetime,
        attempts_made: int,
        now: datetime,
        *,
        retry_after: float | None = None,
    ) -> datetime | None:
        """When to try again after ``attempts_made`` attempts, the last failing at ``now``,
        or None to give up (``now`` is at or past the deadline). ``retry_after``: the seconds
        the receiver asked to wait; the retry waits that long when it is longer than the
        backoff, at most ``max_delay``. Never later than the deadline."""
        deadline = first_due + timedelta(seconds=self.give_up_after)
        if now >= deadline:
            return None
        wait = self.delay(attempts_made)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return min(now + timedelta(seconds=wait), deadline)
