"""A definition's fires on record, read for the API: one row per scheduled time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from scorecast.domain.schedule.outcomes import FireOutcome
from scorecast.errors import InvalidInput
from scorecast.store.models import Job, JobDefinition, ScheduleFire
from scorecast.store.org_scope import page

#: What a fire's ``outcome`` can be (``scorecast.service.firing`` records them).
OUTCOMES: Final = tuple(outcome.value for outcome in FireOutcome)


@dataclass(frozen=True)
class FireFilters:
    outcomes: Sequence[str] = ()
    start: datetime | None = None  # scheduled at or after
    end: datetime | None = None  # scheduled before


def list_fires(
    session: Session,
    definition: JobDefinition,
    filters: FireFilters,
    *,
    offset: int,
    limit: int,
) -> tuple[list[ScheduleFire], int]:
    """One page of ``definition``'s fires, newest first, and the count of all that match.

    ``definition`` was read in the caller's organization (``definitions.get_definition``).
    """
    for outcome in filters.outcomes:
        if outcome not in OUTCOMES:
            raise InvalidInput.at("outcome", f"unknown outcome {outcome!r}; one of {OUTCOMES}")
    if filters.start is not None and filters.end is not None and filters.end < filters.start:
        raise InvalidInput.at("end", "must not be before start")
    query = select(ScheduleFire).where(ScheduleFire.definition_id == definition.id)
    if filters.outcomes:
        query = query.where(ScheduleFire.outcome.in_(filters.outcomes))
    if filters.start is not None:
        query = query.where(ScheduleFire.scheduled_time >= filters.start)
    if filters.end is not None:
        query = query.where(ScheduleFire.scheduled_time < filters.end)
    # (definition, scheduled time) is unique: the unique index gives this order
    order = (ScheduleFire.scheduled_time.desc(),)
    return page(session, query, order, offset=offset, limit=limit, key=ScheduleFire.id)


def job_ids_by_fire(
    session: Session, definition: JobDefinition, scheduled_times: Sequence[datetime]
) -> dict[datetime, list[str]]:
    """The jobs of each of ``definition``'s fires at ``scheduled_times``, first attempt first
    (a fire's retries are jobs of the same scheduled time, ``service.run_outcomes``)."""
    if not scheduled_times:
        return {}
    rows = session.execute(
        select(Job.scheduled_time, Job.id)
        .where(Job.definition_id == definition.id, Job.scheduled_time.in_(list(scheduled_times)))
        .order_by(Job.fire_attempt, Job.created, Job.id)
    )
    found: dict[datetime, list[str]] = {}
    for moment, job_id in rows:
        if moment is not None:
            found.setdefault(moment, []).append(job_id)
    return found
