"""The size of each next chunk of a ``chunkSize: "dynamic"`` job (pure: no clock, no I/O).

A chunk should take about ``TARGET_CHUNK_SECONDS`` to score: short enough that progress and an
abort are seen well within a second and that memory stays near ``auto``'s, long enough that the
per-chunk overhead (decode set-up, pandas/NumPy calls, inter-process transfer: about 25 ms a
chunk for a scikit-learn pipeline) is amortised. Measured through the service (1M rows, two
scikit-learn models, numConcurrent 2), 0.25 s was as fast as 4 MiB chunks with the same
memory, while 1 s grew chunks to 32 MiB for no speed and 120-290 MB more peak RSS.

The sizer is told how long each scored chunk took (``observe``) and answers the size of the
next one (``next_bytes``): the smoothed scoring rate times the target time, starting at
``START_CHUNK_BYTES``, bounded to ``[MIN_CHUNK_BYTES, MAX_CHUNK_BYTES]`` and changing by at
most ``MAX_STEP`` (x2 or /2) from one answer to the next, so one odd measurement cannot swing
the size.

Bytes are the intake's unit: raw CSV bytes for CSV blocks, Arrow bytes for record batches; the
rate is measured in the same unit, so the size converges whatever the unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: seconds one chunk should take to score
TARGET_CHUNK_SECONDS = 0.25
#: size of the first chunks, before any chunk has been scored (bytes)
START_CHUNK_BYTES = 4 << 20
#: bounds of a dynamic chunk (bytes); memory is at most ``MAX_CHUNK_BYTES`` per chunk in flight
MIN_CHUNK_BYTES = 256 << 10
MAX_CHUNK_BYTES = 32 << 20
#: largest factor between two successive sizes
MAX_STEP = 2
#: weight of the newest chunk in the smoothed rate (exponential moving average)
SMOOTHING = 0.5
#: a chunk measured faster than this counts as this long (a clock's resolution)
_MIN_SECONDS = 1e-6


@dataclass(frozen=True)
class ChunkSizing:
    """The policy of a dynamic chunk size; the defaults are the service's."""

    target_seconds: float = TARGET_CHUNK_SECONDS
    start_bytes: int = START_CHUNK_BYTES
    min_bytes: int = MIN_CHUNK_BYTES
    max_bytes: int = MAX_CHUNK_BYTES
    smoothing: float = SMOOTHING

    def __post_init__(self) -> None:
        if not 1 <= self.min_bytes <= self.start_bytes <= self.max_bytes:
            raise ValueError("need 1 <= min_bytes <= start_bytes <= max_bytes")
        if not self.target_seconds > 0 or not 0 < self.smoothing <= 1:
            raise ValueError("need target_seconds > 0 and 0 < smoothing <= 1")


class ChunkSizer:
    """Observations of scored chunks in, the size of the next chunk out.

    ``next_bytes()`` is asked once per chunk, before the chunk is cut; ``observe()`` once per
    scored chunk, in any order relative to it (chunks are read ahead of their scoring).
    """

    def __init__(self, policy: ChunkSizing | None = None) -> None:
        self.policy = policy or ChunkSizing()
        self.size = self.policy.start_bytes
        self.smallest = self.largest = self.size
        self._bytes = 0.0  # smoothed bytes and seconds per chunk: their ratio is the rate
        self._seconds = 0.0

    @property
    def rate(self) -> float | None:
        """The smoothed scoring rate in bytes per second, None before any observation."""
        return self._bytes / self._seconds if self._seconds > 0 else None

    def observe(self, nbytes: int, seconds: float) -> None:
        """A chunk of ``nbytes`` took ``seconds`` to score (empty or unmeasured ones: ignored)."""
        if nbytes <= 0 or not math.isfinite(seconds) or seconds < 0:
            return
        seconds = max(seconds, _MIN_SECONDS)
        if self._seconds == 0:
            self._bytes, self._seconds = float(nbytes), seconds
            return
        weight = self.policy.smoothing
        self._bytes = weight * nbytes + (1 - weight) * self._bytes
        self._seconds = weight * seconds + (1 - weight) * self._seconds

    def next_bytes(self) -> int:
        """The size of the next chunk: rate x target time, within the step and the bounds."""
        rate = self.rate
        if rate is not None:
            wanted = rate * self.policy.target_seconds
            # at least ceil(size / MAX_STEP), at most size * MAX_STEP: both exact in integers
            low = max(self.policy.min_bytes, -(-self.size // MAX_STEP))
            high = min(self.policy.max_bytes, self.size * MAX_STEP)
            self.size = int(min(max(round(min(wanted, high)), low), high))
        self.smallest = min(self.smallest, self.size)
        self.largest = max(self.largest, self.size)
        return self.size
