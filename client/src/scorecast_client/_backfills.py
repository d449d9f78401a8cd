"""Backfills: a definition's schedule back-run over a time range (``client.backfills``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import cast

from scorecast_client._exceptions import WaitTimeout
from scorecast_client._models import BackfillData
from scorecast_client._pages import iterate
from scorecast_client._transport import SyncTransport

#: Seconds between two polls of ``Backfills.wait``.
POLL_INTERVAL = 1.0


def backfills_path(definition_id: str) -> str:
    return f"batchPredictionJobDefinitions/{definition_id}/backfills/"


class Backfills:
    """``client.backfills``; start one with ``client.definitions.backfill``."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def list(self, definition_id: str) -> Iterator[BackfillData]:
        """The definition's backfills, newest first (all pages)."""
        return iterate(self._t, backfills_path(definition_id), {})

    def get(self, definition_id: str, backfill_id: str) -> BackfillData:
        url = f"{backfills_path(definition_id)}{backfill_id}/"
        return cast(BackfillData, self._t.json("GET", url))

    def cancel(self, definition_id: str, backfill_id: str) -> BackfillData:
        """Cancels the rest: planned times never run, waiting jobs are aborted, running ones
        finish. Conflict if it has completed."""
        url = f"{backfills_path(definition_id)}{backfill_id}/"
        return cast(BackfillData, self._t.json("DELETE", url))

    def wait(
        self,
        definition_id: str,
        backfill_id: str,
        timeout: float | None = None,
        on_progress: Callable[[BackfillData], None] | None = None,
        interval: float = POLL_INTERVAL,
    ) -> BackfillData:
        """Polls until the backfill is no longer running (completed or cancelled); returns it.

        ``on_progress(backfill)`` is called after every poll; WaitTimeout after ``timeout``
        seconds (the backfill itself goes on).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            backfill = self.get(definition_id, backfill_id)
            if on_progress is not None:
                on_progress(backfill)
            if backfill["status"] != "running":
                return backfill
            if deadline is not None and time.monotonic() + interval > deadline:
                raise WaitTimeout(f"backfill {backfill_id} is still running after {timeout:g} s")
            time.sleep(interval)
