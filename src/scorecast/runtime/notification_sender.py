"""The notification sender: a loop that delivers due notifications (``notification_transport``).

It runs in every process with the worker or the scheduler role. Each round claims due
deliveries with a lease (one short transaction), makes the attempts outside any transaction,
and records each outcome (another short one), so any number of senders may share a store and a
sender that dies mid-attempt only delays its deliveries until their leases run out. Deliveries
are rows, so a restart loses none: they are retried with exponential backoff for
``SCORECAST_NOTIFICATION_RETRY_HOURS``. Once an hour it removes the deliveries that ended more
than ``SCORECAST_NOTIFICATION_KEEP_DAYS`` ago. A delivery whose attempt or record fails in an
unforeseen way is logged and left to its lease; the round goes on with the others.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from scorecast.config import Settings
from scorecast.domain.delivery_retry import RetryPolicy
from scorecast.runtime.notification_transport import attempt, printable
from scorecast.runtime.outage_log import OutageLog
from scorecast.service import notification_deliveries
from scorecast.service.notification_deliveries import DeliveryTask
from scorecast.store.db import session_scope
from scorecast.store.types import utcnow

log = logging.getLogger("scorecast.notifications")
#: deliveries claimed per round; their lease covers every attempt of the round, each cut off
#: after one timeout (name resolution comes on top), with room to spare, so no other sender
#: takes them
BATCH = 5
PRUNE_EVERY_SECONDS = 3600.0


def retry_policy(settings: Settings) -> RetryPolicy:
    config = settings.notifications
    return RetryPolicy(
        base_delay=config.retry_seconds,
        factor=2.0,
        max_delay=config.retry_max_delay_seconds,
        give_up_after=config.retry_hours * 3600.0,
    )


class NotificationSender:
    """Delivers due notifications in a background thread, polling every ``poll_seconds``."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        poll_seconds: float = 1.0,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:notify:{id(self):x}"
        self.clock = clock
        self.retry = retry_policy(settings)
        self.lease_seconds = settings.notifications.timeout_seconds * 3 * BATCH + 30.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage_log = OutageLog(log, "delivering notifications")
        self._pruned_at: float | None = None

    def run_once(self) -> int:
        """Attempt every delivery due now; how many were attempted."""
        with session_scope(self.engine, deferred=True) as session:
            if not notification_deliveries.has_due(session, self.clock()):
                return 0
        with session_scope(self.engine, immediate=True) as session:
            tasks = notification_deliveries.claim_due(
                session,
                self.settings,
                self.owner,
                self.clock(),
                lease_seconds=self.lease_seconds,
                limit=BATCH,
            )
        for task in tasks:
            if self._stop.is_set():
                break  # the rest wait for their leases to run out, then go to another sender
            try:
                self._deliver(task)
            except Exception:  # this one waits for its lease to run out; the others go on
                log.exception(
                    "notification %s attempt %d could not be made", task.delivery_id, task.attempt
                )
        return len(tasks)

    def _deliver(self, task: DeliveryTask) -> None:
        outcome = attempt(task, self.settings)
        with session_scope(self.engine, immediate=True) as session:
            status = notification_deliveries.record_attempt(
                session, task, outcome, self.clock(), self.retry
            )
        level = logging.INFO if outcome.error is None else logging.WARNING
        log.log(
            level,
            "notification %s attempt %d: %s%s",
            task.delivery_id,
            task.attempt,
            status or "lost",
            f" ({printable(outcome.error)})" if outcome.error else "",
        )

    def prune(self) -> int:
        """Remove finished deliveries older than the configured days; how many."""
        keep = self.settings.notifications.keep_days
        if keep <= 0:
            return 0
        with session_scope(self.engine, immediate=True) as session:
            removed = notification_deliveries.prune(session, self.clock() - timedelta(days=keep))
        if removed:
            log.info("removed %d notification deliveries older than %g days", removed, keep)
        return removed

    def _prune_when_due(self) -> None:
        now = time.monotonic()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            self.prune()

    def run(self) -> None:
        while not self._stop.is_set():
            busy = 0
            try:
                self._prune_when_due()
                busy = self.run_once()
                self._outage_log.succeeded()
            except Exception as exc:
                self._outage_log.failed(exc)
            if not busy:
                self._stop.wait(self.poll_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="scorecast-notify", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
