"""When to retry a request, and how long to wait first (pure; the transport sleeps)."""

from __future__ import annotations

from dataclasses import dataclass

#: Methods that change nothing on the server, so a repeat is harmless.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Answers of a proxy or an overloaded server, worth another try.
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all (1 = no retry); the waits between them grow as
    ``base * 2**n`` seconds, up to ``cap``."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 8.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds before retry number ``retry`` (1-based); a server's ``Retry-After`` wins
        when it is longer, but never beyond ``cap``."""
        wait = min(self.cap, self.base * (2 ** (retry - 1)))
        if retry_after is not None:
            wait = max(wait, min(self.cap, retry_after))
        return float(max(0.0, wait))


def may_retry(method: str, status_code: int | None) -> bool:
    """Whether a failed try may be repeated: a safe method and no answer, or a 502/503/504."""
    if method.upper() not in SAFE_METHODS:
        return False
    return status_code is None or status_code in RETRY_STATUSES


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is not used by proxies we meet: ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
