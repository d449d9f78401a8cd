"""Backfills: a definition's schedule back-run over a time range (``client.backfills``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from scorecast_client._calls import Call, Collection, segment
from scorecast_client._exceptions import TransportError
from scorecast_client._models import BackfillData
from scorecast_client._pages import iterate
from scorecast_client._polling import POLL_INTERVAL, Deadline
from scorecast_client._transport import SyncTransport

BackfillCallback = Callable[[BackfillData], None]


def backfills(definition_id: str) -> Collection[BackfillData]:
    """A definition's backfills (create one with ``create``, cancel with ``cancel_call``)."""
    path = f"batchPredictionJobDefinitions/{segment(definition_id)}/backfills/"
    return Collection(path, keys=("id", "status"))


def cancel_call(definition_id: str, backfill_id: str) -> Call[BackfillData]:
    collection = backfills(definition_id)
    return Call("DELETE", collection.item(backfill_id), keys=collection.keys)


class Backfills:
    """``client.backfills``; start one with ``client.definitions.backfill``."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def list(self, definition_id: str) -> Iterator[BackfillData]:
        """The definition's backfills, newest first (all pages)."""
        return iterate(self._t, backfills(definition_id).listing())

    def get(self, definition_id: str, backfill_id: str) -> BackfillData:
        return self._t.call(backfills(definition_id).get(backfill_id))

    def cancel(self, definition_id: str, backfill_id: str) -> BackfillData:
        """Cancels the rest: planned times never run, waiting jobs are aborted, running ones
        finish. Conflict if it has completed."""
        return self._t.call(cancel_call(definition_id, backfill_id))

    def wait(
        self,
        definition_id: str,
        backfill_id: str,
        timeout: float | None = None,
        on_progress: BackfillCallback | None = None,
        interval: float = POLL_INTERVAL,
    ) -> BackfillData:
        """Polls until the backfill is no longer running (completed or cancelled); returns it.

        ``on_progress(backfill)`` is called after every poll; WaitTimeout after ``timeout``
        seconds (the backfill itself goes on). It polls at most once every ``POLL_INTERVAL``.
        """
        interval = max(interval, POLL_INTERVAL)
        deadline = Deadline(timeout)
        call = backfills(definition_id).get(backfill_id)
        while True:
            try:
                backfill = self._t.call(call, until=deadline.end)
            except TransportError:
                if deadline.passed():
                    raise deadline.no_answer(f"backfill {backfill_id}") from None
                raise
            if on_progress is not None:
                on_progress(backfill)
            if backfill["status"] != "running":
                return backfill
            deadline.check(interval, f"backfill {backfill_id} is still running")
            time.sleep(interval)
