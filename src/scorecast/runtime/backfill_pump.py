"""The backfill pump: a loop that releases backfills' planned times as places free up.

Each round records the outcome of the backfill jobs that ended
(``service.backfill_release.record_outcomes``), then visits every running backfill through
``release_backfills``, one short transaction (on SQLite holding the write lock) per page of
backfills: however many backfills run, each is released every round, and a round never holds
the write lock for long (a page examines at most ``MAX_TIMES_PER_TRANSACTION`` planned times).
Any number of pumps may run against one store (PostgreSQL: backfills locked ``FOR UPDATE SKIP
LOCKED``; the fire rows' unique key in any case). Everything it needs is stored, so a restarted
server carries on where it stopped. ``serve`` runs one with the scheduler role.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import Engine

from scorecast.config import Settings
from scorecast.runtime.outage_log import OutageLog
from scorecast.service.backfill_release import record_outcomes, release_backfills, release_needed
from scorecast.store.db import session_scope
from scorecast.store.types import utcnow

log = logging.getLogger("scorecast.backfills")

#: Seconds between rounds: a finished backfill job's place is taken again within this.
DEFAULT_POLL_SECONDS = 1.0


class BackfillPump:
    """Releases planned backfill times in a background thread until ``stop()``."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings | None = None,
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage_log = OutageLog(log, "releasing backfill jobs")

    def round(self) -> int:
        """One round: the number of jobs created."""
        with session_scope(self.engine, deferred=True) as session:
            if not release_needed(session):
                return 0
        with session_scope(self.engine, immediate=True) as session:
            record_outcomes(session)
        created = 0
        after: tuple[datetime, str] | None = None
        while True:
            with session_scope(self.engine, immediate=True) as session:
                page = release_backfills(session, utcnow(), after=after, app_settings=self.settings)
            created += page.created
            if page.resume_after is None:
                break
            after = page.resume_after
        if created:
            log.info("%d backfill job(s) released", created)
        return created

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.round()
                self._outage_log.succeeded()
            except Exception as exc:
                self._outage_log.failed(exc)
            self._stop.wait(self.poll_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="scorecast-backfills", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
