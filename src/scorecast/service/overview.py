"""What the console's pages show, read in the caller's organization.

Each function is one query (or a few) over the store, scoped to ``caller.org_id`` like every
service function, and returns store objects for the edge to render; none of them writes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from scorecast.domain.schedule import next_fire_after, parse_schedule
from scorecast.domain.schedule.outcomes import ATTENTION_OUTCOMES as FIRES_NEEDING_ATTENTION
from scorecast.errors import InvalidInput
from scorecast.service.caller import Caller
from scorecast.store.models import Deployment, Job, JobDefinition, ScheduleFire

#: Fire outcomes the overview lists as needing attention.
ATTENTION_OUTCOMES = tuple(sorted(outcome.value for outcome in FIRES_NEEDING_ATTENTION))


@dataclass(frozen=True)
class DefinitionName:
    """What a list shows of a definition: its id and name (no spec to load and decode)."""

    id: str
    name: str


@dataclass(frozen=True)
class UpcomingFire:
    definition: DefinitionName
    moment: datetime


@dataclass(frozen=True)
class AttentionFire:
    """A skipped, missed or failed fire with its definition's name."""

    scheduled_time: datetime
    outcome: str
    reason: str | None
    definition: DefinitionName


@dataclass(frozen=True)
class JobsInStatus:
    """The first jobs in some statuses, oldest first, and how many there are in all."""

    jobs: list[Job]
    total: int

    @property
    def more(self) -> bool:
        return self.total > len(self.jobs)


def jobs_in_status(
    session: Session, caller: Caller, statuses: Sequence[str], *, limit: int = 50
) -> JobsInStatus:
    """The caller's first ``limit`` jobs in ``statuses``, oldest first (the order they run in),
    and how many jobs are in them."""
    wanted = (Job.org_id == caller.org_id, Job.status.in_(statuses))
    query = select(Job).where(*wanted).order_by(Job.created.asc(), Job.id.asc()).limit(limit)
    found = list(session.scalars(query).all())
    total = len(found)
    if total == limit:  # a short page is all of them; a full one may not be
        total = session.scalar(select(func.count()).select_from(Job).where(*wanted)) or 0
    return JobsInStatus(found, total)


def failed_jobs_since(session: Session, caller: Caller, since: datetime) -> list[Job]:
    """The caller's jobs that ended FAILED or ABORTED since ``since``, newest first (their
    spec is not loaded: reading it reads it then, one query per job)."""
    query = (
        select(Job)
        .options(defer(Job.spec))
        .where(
            Job.org_id == caller.org_id,
            Job.status.in_(("FAILED", "ABORTED")),
            Job.finished >= since,
        )
        .order_by(Job.finished.desc())
        .limit(100)
    )
    return list(session.scalars(query).all())


def fires_needing_attention(
    session: Session, caller: Caller, since: datetime
) -> list[AttentionFire]:
    """Skipped, missed and failed fires of the caller's definitions since ``since``."""
    query = (
        select(
            ScheduleFire.scheduled_time,
            ScheduleFire.outcome,
            ScheduleFire.reason,
            JobDefinition.id,
            JobDefinition.name,
        )
        .join(JobDefinition, JobDefinition.id == ScheduleFire.definition_id)
        .where(
            JobDefinition.org_id == caller.org_id,
            ScheduleFire.outcome.in_(ATTENTION_OUTCOMES),
            ScheduleFire.scheduled_time >= since,
        )
        .order_by(ScheduleFire.scheduled_time.desc())
        .limit(100)
    )
    return [
        AttentionFire(moment, outcome, reason, DefinitionName(ident, name))
        for moment, outcome, reason, ident, name in session.execute(query).all()
    ]


def upcoming_fires(
    session: Session, caller: Caller, now: datetime, horizon: timedelta, *, limit: int = 200
) -> list[UpcomingFire]:
    """The first ``limit`` fires of the caller's enabled definitions in ``(now, now + horizon]``,
    soonest first.

    Exact, however many definitions there are: it expands the ``limit`` definitions due first,
    and keeps only the fires before the next definition's first fire (no fire of a definition
    left out can come earlier).
    """
    end = now + horizon
    due = (
        select(
            JobDefinition.id,
            JobDefinition.name,
            JobDefinition.schedule,
            JobDefinition.next_scheduled_run_time,
        )
        .where(
            JobDefinition.org_id == caller.org_id,
            JobDefinition.enabled.is_(True),
            JobDefinition.next_scheduled_run_time.is_not(None),
            JobDefinition.next_scheduled_run_time <= end,
        )
        .order_by(JobDefinition.next_scheduled_run_time.asc(), JobDefinition.id.asc())
    )
    expanded = session.execute(due.limit(limit)).all()
    following = session.execute(due.offset(limit).limit(1)).first()
    cutoff = end if following is None else following.next_scheduled_run_time
    assert cutoff is not None
    fires: list[UpcomingFire] = []
    for ident, name, payload, _ in expanded:
        if payload is None:
            continue
        try:
            schedule = parse_schedule(payload)
        except InvalidInput:
            continue  # stored before a rule changed: the definition's page says why
        definition = DefinitionName(ident, name)
        moment = next_fire_after(schedule, now)
        taken = 0
        while moment is not None and moment <= end and taken < limit:
            if following is not None and moment >= cutoff:
                break
            fires.append(UpcomingFire(definition, moment))
            taken += 1
            moment = next_fire_after(schedule, moment)
    fires.sort(key=lambda fire: (fire.moment, fire.definition.id))
    return fires[:limit]


def definition_jobs(
    session: Session, caller: Caller, definition_id: str, *, limit: int = 50
) -> list[Job]:
    """The most recent jobs a definition of the caller's started, newest first."""
    query = (
        select(Job)
        .where(Job.org_id == caller.org_id, Job.definition_id == definition_id)
        .order_by(Job.created.desc(), Job.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query).all())


def deployment_labels(session: Session, caller: Caller, ids: Collection[str]) -> dict[str, str]:
    """The labels of the caller's deployments among ``ids`` (a deleted one is absent)."""
    if not ids:
        return {}
    query = select(Deployment.id, Deployment.label).where(
        Deployment.org_id == caller.org_id, Deployment.id.in_(list(ids))
    )
    return {row[0]: row[1] for row in session.execute(query).all()}


def fire_outcomes_between(
    session: Session, definition: JobDefinition, start: datetime, end: datetime, *, limit: int
) -> list[tuple[datetime, str]]:
    """The scheduled time and outcome of ``definition``'s fires in ``[start, end)``, at most
    ``limit`` of them, earliest first (``definition`` was read in the caller's organization)."""
    query = (
        select(ScheduleFire.scheduled_time, ScheduleFire.outcome)
        .where(
            ScheduleFire.definition_id == definition.id,
            ScheduleFire.scheduled_time >= start,
            ScheduleFire.scheduled_time < end,
        )
        .order_by(ScheduleFire.scheduled_time.asc())
        .limit(limit)
    )
    return [(moment, outcome) for moment, outcome in session.execute(query).all()]
