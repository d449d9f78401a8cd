"""Logging a loop's failures without flooding the log while the store is down.

The service's loops (claims, heartbeat, scheduler, progress reports, the debris sweep) retry
every fraction of a second; logging each failure with its traceback wrote 15.5 MB in two minutes
of a database outage. ``OutageLog`` logs:

- the first failure of an outage once, with its traceback (the cause, for the operator);
- then one line per summary, the first ``first_summary`` seconds into the outage and each later
  one after twice the previous wait, at most ``max_summary`` apart: how long it has lasted, how
  many attempts failed, the latest cause in one line;
- one line when the loop succeeds again, saying how long the outage lasted.

``failed`` and ``succeeded`` are called by one loop thread; the clock is injected (seconds).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

#: the first summary comes this long into an outage; each next one after twice the wait
FIRST_SUMMARY_SECONDS = 10.0
#: summaries come at least this often while the outage lasts
MAX_SUMMARY_SECONDS = 600.0


class OutageLog:
    """The log of one loop's outages (see the module docstring); ``what`` names the loop."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        first_summary: float = FIRST_SUMMARY_SECONDS,
        max_summary: float = MAX_SUMMARY_SECONDS,
    ) -> None:
        self.logger, self.what, self.clock = logger, what, clock
        self.first_summary, self.max_summary = first_summary, max_summary
        self.since: float | None = None
        self.failures = 0
        self._next_summary = 0.0
        self._wait = first_summary

    @property
    def failing(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> None:
        """One more failed attempt (``exc`` its cause)."""
        now = self.clock()
        self.failures += 1
        if self.since is None:
            self.since = now
            self._wait = self.first_summary
            self._next_summary = now + self._wait
            self.logger.error(
                "%s failed; retrying, and logging a summary while it keeps failing: %s",
                self.what,
                _one_line(exc),
                exc_info=exc,
            )
            return
        if now >= self._next_summary:
            self.logger.error(
                "%s still failing after %.0f s (%d failed attempts): %s",
                self.what,
                now - self.since,
                self.failures,
                _one_line(exc),
            )
            self._wait = min(self._wait * 2, self.max_summary)
            self._next_summary = now + self._wait

    def succeeded(self) -> None:
        """The loop worked: ends an outage (one line) if there was one."""
        if self.since is None:
            return
        lasted = self.clock() - self.since
        self.logger.warning(
            "%s works again after %.0f s (%d failed attempts)", self.what, lasted, self.failures
        )
        self.since = None
        self.failures = 0


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
