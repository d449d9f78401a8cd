"""The scheduler: a loop that fires due job definitions (``service.firing``).

A tick fires everything due in batches, one short transaction per batch (on SQLite the write
lock is held for one batch, never a whole tick), each sized to take about a target time
(``runtime.batch_sizing``; a fixed ``batch_size`` when one is given), so any number of
schedulers may run against one store: on PostgreSQL they split the due set (``SKIP LOCKED``),
and the fire rows' unique key lets each scheduled time fire once. Between ticks the loop sleeps
until the earliest ``nextScheduledRunTime`` or ``max_sleep`` seconds, whichever comes first
(definitions changed through the API are picked up within ``max_sleep``).

On PostgreSQL one scheduler can also fire in ``lanes`` threads at once
(``SCORECAST_SCHEDULER_LANES``, 1 by default): each runs the tick's batches as another
scheduler would (its own transactions, the due set split by ``SKIP LOCKED``, a heartbeat row of
its own), so one lane's Python runs while another's statements run in the database. On SQLite
(one writer, and a batch's planning runs inside its write transaction) there is one lane.

Each batch, and an idle scheduler every ``HEARTBEAT_SECONDS``, records the scheduler's heartbeat
(``service.scheduler_liveness``): its span alive, from its start or its last recovery from a
store outage. A fire that is late while some scheduler ran is only late; only time when none
ran can make a fire missed.

While the store cannot be reached the loop keeps trying, logging through an ``OutageLog``; it
remembers the outage (first failure to recovery, by its clock), so that the fires it then finds
missed say the database was unreachable rather than that no scheduler ran.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine

from scorecast.domain.schedule.liveness import AliveSpan
from scorecast.domain.schedule.outcomes import RUN_OUTCOMES
from scorecast.metrics import Metrics
from scorecast.runtime.batch_sizing import sizer_for
from scorecast.runtime.outage_log import OutageLog
from scorecast.service.firing import Fire, Outage, fire_batch, next_due_time
from scorecast.service.scheduler_liveness import beat
from scorecast.store.db import session_scope
from scorecast.store.types import utcnow

log = logging.getLogger("scorecast.scheduler")

#: An idle scheduler records its heartbeat this often (a busy one with every batch).
HEARTBEAT_SECONDS: Final = 5.0


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
        batch_size: int | None = None,
        lanes: int = 1,
    ) -> None:
        self.engine = engine
        #: a fixed batch size; None: each batch sized by ``sizer`` to its target time
        self.batch_size = batch_size
        self.sizer = sizer_for(engine.dialect.name)
        self._sizing = threading.Lock()  # the lanes share the sizer
        #: threads firing a tick's batches at once (see the module docstring)
        self.lanes = max(1, lanes) if engine.dialect.name == "postgresql" else 1
        self.scheduler_id = _new_id()
        #: the start of this scheduler's span alive (set by its first tick, reset by recovery)
        self.alive_since: datetime | None = None
        self._last_beat: datetime | None = None
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
            for outcome, count in Counter(fire.outcome for fire in fires).items():
                self.metrics.fires.labels(outcome).inc(count)
            for fire in fires:
                if fire.lateness_seconds is not None:
                    self.metrics.fire_lag.observe(fire.lateness_seconds)
        return fires

    def _tick(self) -> list[Fire]:
        if self.alive_since is None:
            self.alive_since = self.clock()
        with session_scope(self.engine, deferred=True) as session:
            due = next_due_time(session, self.clock())
        if due is None or due > self.clock():
            self._beat_if_idle()
            return []
        since = self.alive_since
        if self.lanes == 1:
            return self._fire_lane(self.scheduler_id, since)
        fired: list[list[Fire]] = [[] for _ in range(self.lanes)]
        errors: list[BaseException] = []

        def lane(index: int) -> None:
            try:
                fired[index] = self._fire_lane(lane_id(self.scheduler_id, index), since)
            except BaseException as exc:  # raised below, from the tick
                errors.append(exc)

        others = [threading.Thread(target=lane, args=(i,)) for i in range(1, self.lanes)]
        for thread in others:
            thread.start()
        lane(0)
        for thread in others:
            thread.join()
        if errors:
            raise errors[0]
        return [fire for fires in fired for fire in fires]

    def _fire_lane(self, heartbeat_id: str, since: datetime) -> list[Fire]:
        """Fire due batches until a batch finds fewer than it could take, alive ``since``;
        what happened."""
        fires: list[Fire] = []
        last: tuple[datetime, str] | None = None
        while True:
            with self._sizing:
                limit = self.batch_size or self.sizer.size
            started = time.perf_counter()
            with session_scope(self.engine, immediate=True) as session:
                now = self.clock()
                beat(session, heartbeat_id, since, now)
                batch = fire_batch(
                    session,
                    now,
                    limit=limit,
                    outage=self._outage(),
                    own_span=AliveSpan(since, now),
                    after=last,
                )
            last = batch.last
            seconds = time.perf_counter() - started
            with self._sizing:
                self.sizer.observe(batch.handled, seconds)
            self._last_beat = now
            self._report(batch.fires, seconds)
            fires += batch.fires
            if batch.handled < limit or self._stop.is_set():
                return fires

    def _beat_if_idle(self) -> None:
        assert self.alive_since is not None
        now = self.clock()
        due = self._last_beat is None or now - self._last_beat >= timedelta(
            seconds=HEARTBEAT_SECONDS
        )
        if due:
            with session_scope(self.engine, immediate=True) as session:
                beat(session, self.scheduler_id, self.alive_since, now)
            self._last_beat = now

    def _report(self, fires: list[Fire], seconds: float) -> None:
        """Log a batch: one line for its runs, a warning for each fire that ran nothing. A fire
        that ran is logged on its own at debug level only: a burst of 100,000 fires made as many
        log lines, formatted and written by the process that also serves the API."""
        outcomes = Counter(fire.outcome for fire in fires)
        runs = {outcome: count for outcome, count in outcomes.items() if outcome in RUN_OUTCOMES}
        debug = log.isEnabledFor(logging.DEBUG)
        if debug or sum(runs.values()) < len(fires):  # each fire that ran nothing is logged
            for fire in fires:
                ran = fire.outcome in RUN_OUTCOMES
                if ran and not debug:
                    continue
                log.log(
                    logging.DEBUG if ran else logging.WARNING,
                    "definition %s, %s: %s%s",
                    fire.definition_id,
                    fire.scheduled_time.isoformat(),
                    fire.outcome,
                    f" ({fire.reason})" if fire.reason else f" (job {fire.job_id})",
                )
        if self.on_fire is not None:
            for fire in fires:
                self.on_fire(fire)
        if runs:
            counts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(runs.items()))
            log.info("a batch of %d fires in %.2f s: %s", len(fires), seconds, counts)

    def _pause(self) -> float:
        with session_scope(self.engine, deferred=True) as session:
            due = next_due_time(session, self.clock())
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
                # a new span (and heartbeat row) from the next good tick: the old one stays on
                # record, so a short failure joins the two and a long outage leaves a gap
                self.alive_since = None
                self.scheduler_id = _new_id()
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


def lane_id(scheduler_id: str, lane: int) -> str:
    """The heartbeat id of a scheduler's ``lane`` (its first lane's is the scheduler's): each
    lane's batches update a row of their own, so no lane waits for another's row lock."""
    return scheduler_id if lane == 0 else f"{scheduler_id}/{lane}"


def _new_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
