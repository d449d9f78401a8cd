"""Job definitions: stored specs with an optional schedule, run by the server or on demand."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from scorecast_client._backfills import backfills_path
from scorecast_client._exceptions import NotFound
from scorecast_client._jobs import Job, Jobs
from scorecast_client._models import (
    BackfillData,
    DefinitionData,
    FireData,
    SchedulePreviewData,
)
from scorecast_client._pages import compact, iterate
from scorecast_client._transport import SyncTransport

_PATH = "batchPredictionJobDefinitions/"


class Definitions:
    """``client.definitions``."""

    def __init__(self, transport: SyncTransport, jobs: Jobs) -> None:
        self._t = transport
        self._jobs = jobs

    def create(self, spec: Mapping[str, Any]) -> DefinitionData:
        """Stores a definition: the job spec plus ``name``, ``enabled`` and ``schedule``."""
        return cast(DefinitionData, self._t.json("POST", _PATH, json=dict(spec)))

    def get(self, definition_id: str) -> DefinitionData:
        return cast(DefinitionData, self._t.json("GET", f"{_PATH}{definition_id}/"))

    def find(self, id_or_name: str) -> DefinitionData:
        """The definition with this id, else the one with exactly this name (NotFound if none)."""
        try:
            return self.get(id_or_name)
        except NotFound:
            pass
        for definition in self.list(search_name=id_or_name):
            if definition["name"] == id_or_name:
                return definition
        raise NotFound(404, f"no job definition with the id or name {id_or_name!r}")

    def list(
        self, *, search_name: str | None = None, deployment_id: str | None = None
    ) -> Iterator[DefinitionData]:
        """Every definition of the organization, newest first (all pages)."""
        params = compact(searchName=search_name, deploymentId=deployment_id)
        return iterate(self._t, _PATH, params)

    def update(self, definition_id: str, changes: Mapping[str, Any]) -> DefinitionData:
        """Replaces the top-level keys given (intake and output settings whole)."""
        body = self._t.json("PATCH", f"{_PATH}{definition_id}/", json=dict(changes))
        return cast(DefinitionData, body)

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
        outcomes = [outcome] if isinstance(outcome, str) else [*outcome] if outcome else None
        params = compact(outcome=outcomes, start=start, end=end)
        return iterate(self._t, f"{_PATH}{definition_id}/fires/", params)

    def preview(self, definition_id: str, count: int = 10) -> SchedulePreviewData:
        """The next ``count`` fires of the definition's schedule, in UTC and local time."""
        url = f"{_PATH}{definition_id}/schedulePreview/"
        return cast(SchedulePreviewData, self._t.json("GET", url, params={"count": count}))

    def preview_schedule(
        self, schedule: Mapping[str, Any], *, after: str | None = None, count: int = 10
    ) -> SchedulePreviewData:
        """The next ``count`` fires of a schedule payload (not stored) after ``after``."""
        body: dict[str, Any] = {"schedule": dict(schedule), "count": count}
        if after is not None:
            body["after"] = after
        return cast(SchedulePreviewData, self._t.json("POST", "schedules/preview/", json=body))

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
        body = {"start": start, "end": end, "maxConcurrent": max_concurrent, "rerun": rerun}
        return cast(BackfillData, self._t.json("POST", backfills_path(definition_id), json=body))

    def run(self, definition_id: str) -> Job:
        """Runs the definition once, now; the job it started."""
        body = {"jobDefinitionId": definition_id}
        data = self._t.json("POST", "batchPredictions/fromJobDefinition/", json=body)
        return Job(self._jobs, data)

    def delete(self, definition_id: str) -> None:
        self._t.request("DELETE", f"{_PATH}{definition_id}/")
