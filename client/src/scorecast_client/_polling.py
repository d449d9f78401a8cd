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

    @property
    def end(self) -> float | None:
        """The ``time.monotonic()`` at which the wait ends (None: never)."""
        return self._end

    def left(self) -> float | None:
        """Seconds until the end, never below 0 (None: no end)."""
        return None if self._end is None else max(0.0, self._end - time.monotonic())

    def passed(self) -> bool:
        return self._end is not None and time.monotonic() >= self._end

    def no_answer(self, what: str) -> WaitTimeout:
        """The WaitTimeout of a wait whose last poll got no answer before the end."""
        return WaitTimeout(f"{what}: no answer from the server within {self.timeout:g} s")

    def check(self, interval: float, what: str) -> None:
        """Raises WaitTimeout ("``what`` after N s") unless another poll fits before the end."""
        if self._end is not None and time.monotonic() + interval > self._end:
            raise WaitTimeout(f"{what} after {self.timeout:g} s")
