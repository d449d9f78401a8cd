"""Job definitions: stored specs with an optional schedule, run by the server or on demand."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from scorecast_client._backfills import backfills
from scorecast_client._calls import Call, Collection, Listing, compact, is_segment
from scorecast_client._exceptions import NotFound
from scorecast_client._jobs import JOBS, Job, Jobs
from scorecast_client._models import (
    BackfillData,
    DefinitionData,
    FireData,
    JobData,
    SchedulePreviewData,
)
from scorecast_client._pages import iterate
from scorecast_client._transport import SyncTransport

DEFINITIONS: Collection[DefinitionData] = Collection(
    "batchPredictionJobDefinitions/", keys=("id", "name")
)


def fires_listing(
    definition_id: str,
    outcome: str | Sequence[str] | None,
    start: str | None,
    end: str | None,
) -> Listing[FireData]:
    outcomes = [outcome] if isinstance(outcome, str) else [*outcome] if outcome else None
    params = compact(outcome=outcomes, start=start, end=end)
    return Listing(f"{DEFINITIONS.item(definition_id)}fires/", params, identity="scheduledTime")


def preview_call(definition_id: str, count: int) -> Call[SchedulePreviewData]:
    url = f"{DEFINITIONS.item(definition_id)}schedulePreview/"
    return Call("GET", url, {"count": count}, keys=("fires",))


def preview_schedule_call(
    schedule: Mapping[str, Any], after: str | None, count: int
) -> Call[SchedulePreviewData]:
    body: dict[str, Any] = {"schedule": dict(schedule), "count": count}
    if after is not None:
        body["after"] = after
    return Call("POST", "schedules/preview/", body=body, keys=("fires",))


def backfill_call(
    definition_id: str, start: str, end: str, max_concurrent: int, rerun: bool
) -> Call[BackfillData]:
    body = {"start": start, "end": end, "maxConcurrent": max_concurrent, "rerun": rerun}
    return backfills(definition_id).create(body)


def run_call(definition_id: str) -> Call[JobData]:
    body = {"jobDefinitionId": definition_id}
    return Call("POST", "batchPredictions/fromJobDefinition/", body=body, keys=JOBS.keys)


def not_found(id_or_name: str) -> NotFound:
    return NotFound(404, f"no job definition with the id or name {id_or_name!r}")


class Definitions:
    """``client.definitions``."""

    def __init__(self, transport: SyncTransport, jobs: Jobs) -> None:
        self._t = transport
        self._jobs = jobs

    def create(self, spec: Mapping[str, Any]) -> DefinitionData:
        """Stores a definition: the job spec plus ``name``, ``enabled`` and ``schedule``."""
        return self._t.call(DEFINITIONS.create(spec))

    def get(self, definition_id: str) -> DefinitionData:
        return self._t.call(DEFINITIONS.get(definition_id))

    def find(self, id_or_name: str) -> DefinitionData:
        """The definition with this id, else the one with exactly this name (NotFound if none)."""
        if is_segment(id_or_name):  # else it cannot be an id, only a name
            try:
                return self.get(id_or_name)
            except NotFound:
                pass
        for definition in self.list(search_name=id_or_name):
            if definition["name"] == id_or_name:
                return definition
        raise not_found(id_or_name)

    def list(
        self, *, search_name: str | None = None, deployment_id: str | None = None
    ) -> Iterator[DefinitionData]:
        """Every definition of the organization, newest first (all pages)."""
        listing = DEFINITIONS.listing(searchName=search_name, deploymentId=deployment_id)
        return iterate(self._t, listing)

    def update(self, definition_id: str, changes: Mapping[str, Any]) -> DefinitionData:
        """Replaces the top-level keys given (intake and output settings whole)."""
        return self._t.call(DEFINITIONS.update(definition_id, changes))

    def enable(self, definition_id: str) -> DefinitionData:
        return self.update(definition_id, {"enabled": True})

    def disable(self, definition_id: str) -> DefinitionData:
        return self.update(definition_id, {"enabled": False})

    def fires(
        self,
        definition_id: str,
        *,
        outcome: str | Sequence[str] | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> Iterator[FireData]:
        """The definition's fires on record, newest first (all pages); ``start``/``end`` are
        ISO-8601 times (scheduled at or after ``start``, before ``end``)."""
        return iterate(self._t, fires_listing(definition_id, outcome, start, end))

    def preview(self, definition_id: str, count: int = 10) -> SchedulePreviewData:
        """The next ``count`` fires of the definition's schedule, in UTC and local time."""
        return self._t.call(preview_call(definition_id, count))

    def preview_schedule(
        self, schedule: Mapping[str, Any], *, after: str | None = None, count: int = 10
    ) -> SchedulePreviewData:
        """The next ``count`` fires of a schedule payload (not stored) after ``after``."""
        return self._t.call(preview_schedule_call(schedule, after, count))

    def backfill(
        self,
        definition_id: str,
        start: str,
        end: str,
        *,
        max_concurrent: int = 1,
        rerun: bool = False,
    ) -> BackfillData:
        """Runs the definition for every fire time of its schedule in ``[start, end)`` (ISO-8601
        times; ``end`` not in the future), at most ``max_concurrent`` jobs at once; times that
        already have a fire are left alone unless ``rerun``. Follow it with
        ``client.backfills``."""
        return self._t.call(backfill_call(definition_id, start, end, max_concurrent, rerun))

    def run(self, definition_id: str) -> Job:
        """Runs the definition once, now; the job it started."""
        return Job(self._jobs, self._t.call(run_call(definition_id)))

    def delete(self, definition_id: str) -> None:
        self._t.call(DEFINITIONS.delete(definition_id))
