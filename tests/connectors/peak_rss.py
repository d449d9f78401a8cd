"""Peak resident memory of the test process while a block runs (the memory-bound tests)."""

from __future__ import annotations

import threading
import time

import psutil


class PeakRss:
    """The peak resident memory of this process while the block runs, sampled every 10 ms."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start: int = self.process.memory_info().rss
        self.peak: int = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    def restart(self) -> None:
        """Measure from now (after a warm-up)."""
        self.start = self.peak = self.process.memory_info().rss

    @property
    def growth(self) -> int:
        return self.peak - self.start
