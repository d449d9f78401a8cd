"""The scheduler: a loop that fires due job definitions (``service.firing``).

Each tick is one transaction (on SQLite holding the write lock), so any number of schedulers may
run against one store: the fire rows' unique key lets each scheduled time fire once. Between
ticks the loop sleeps until the earliest ``nextScheduledRunTime`` or ``max_sleep`` seconds,
whichever comes first (definitions changed through the API are picked up within ``max_sleep``).

While the store cannot be reached the loop keeps trying, logging through an ``OutageLog``; it
remembers the outage (first failure to recovery, by its clock), so that the fires it then finds
missed say the database was unreachable rather than that no scheduler ran.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from scorecast.metrics import Metrics
from scorecast.runtime.outage_log import OutageLog
from scorecast.service.firing import Fire, Outage, fire_due_definitions, next_due_time
from scorecast.store.db import session_scope
from scorecast.store.types import utcnow

log = logging.getLogger("scorecast.scheduler")


class Scheduler:
    """Fires due definitions in a background thread; ``on_fire`` hears about every fire."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_sleep: float = 1.0,
        on_fire: Callable[[Fire], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.max_sleep = max_sleep
        self.on_fire = on_fire
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage_log = OutageLog(log, "the scheduler's tick")
        self._unreachable_since: datetime | None = None
        #: the last store outage this scheduler lived through (for missed fires' reasons)
        self.last_outage: Outage | None = None

    def tick(self) -> list[Fire]:
        """Fire what is due now; what happened."""
        started = time.perf_counter()
        fires = self._tick()
        if self.metrics is not None:
            self.metrics.scheduler_ticks.observe(time.perf_counter() - started)
            recorded = self.clock()
            for fire in fires:
                self.metrics.fires.labels(fire.outcome).inc()
                if fire.outcome == "started":
                    lag = (recorded - fire.scheduled_time).total_seconds()
                    self.metrics.fire_lag.observe(max(lag, 0.0))
        return fires

    def _tick(self) -> list[Fire]:
        with session_scope(self.engine, deferred=True) as session:
            due = next_due_time(session)
        if due is None or due > self.clock():
            return []
        with session_scope(self.engine, immediate=True) as session:
            fires = fire_due_definitions(session, self.clock(), outage=self._outage())
        for fire in fires:
            level = logging.INFO if fire.outcome == "started" else logging.WARNING
            log.log(
                level,
                "definition %s, %s: %s%s",
                fire.definition_id,
                fire.scheduled_time.isoformat(),
                fire.outcome,
                f" ({fire.reason})" if fire.reason else f" (job {fire.job_id})",
            )
            if self.on_fire is not None:
                self.on_fire(fire)
        return fires

    def _pause(self) -> float:
        with session_scope(self.engine, deferred=True) as session:
            due = next_due_time(session)
        if due is None:
            return self.max_sleep
        return min(max((due - self.clock()).total_seconds(), 0.05), self.max_sleep)

    def run(self) -> None:
        """Tick until ``stop()``; errors are logged and the loop goes on."""
        while not self._stop.is_set():
            pause = self.max_sleep
            try:
                self.tick()
                pause = self._pause()
                self._recovered()
            except Exception as exc:
                if self._unreachable_since is None:
                    self._unreachable_since = self.clock()
                self._outage_log.failed(exc)
            self._stop.wait(pause)

    def _outage(self) -> Outage | None:
        """The outage to explain missed fires with: the one ending now, else the last one."""
        if self._unreachable_since is not None:
            return Outage(self._unreachable_since, self.clock())
        return self.last_outage

    def _recovered(self) -> None:
        if self._unreachable_since is not None:
            self.last_outage = Outage(self._unreachable_since, self.clock())
            self._unreachable_since = None
        self._outage_log.succeeded()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="scorecast-scheduler", daemon=True)
        self._thread.start()
        log.info("scheduler started")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
