"""How often jobs and backfills are polled, and when a wait gives up (pure; callers sleep)."""

from __future__ import annotations

import time

from scorecast_client._exceptions import WaitTimeout

#: Seconds between two polls of one job or backfill: the server is asked at most once a second.
POLL_INTERVAL = 1.0


class Deadline:
    """The end of a wait of ``timeout`` seconds (``None``: no end), from now."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._end = None if timeout is None else time.monotonic() + timeout

    def check(self, interval: float, what: str) -> None:
        """Raises WaitTimeout ("``what`` after N s") unless another poll fits before the end."""
        if self._end is not None and time.monotonic() + interval > self._end:
            raise WaitTimeout(f"{what} after {self.timeout:g} s")
