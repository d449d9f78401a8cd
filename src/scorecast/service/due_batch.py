"""Reading one batch of due definitions for ``service.firing``: as rows, or (SQLite) as groups.

Due = ``enabled`` and ``next_scheduled_run_time <= now`` (with jitter, ``next_due_at <= now``
too); a batch is the first ``limit`` due definitions after ``after`` in the order of the index
``(enabled, next_scheduled_run_time, id)``, read in that order, never every due one sorted.

- ``due_rows``: each definition of the batch as a row of ``DUE_COLUMNS`` (every store; on
  PostgreSQL locked ``FOR UPDATE SKIP LOCKED``, so that concurrent schedulers split the due set).
- ``due_groups`` (SQLite, where the caller holds the write lock): the batch as groups that
  share one firing decision, each definition's id in one string per group (never a row each). A
  group is the definitions with the same schedule, policies, next fire time and intake type,
  and the same answer to *plain*: no credential, data store or dataset to check, its last
  editor and its deployment still exist, no waiting or running job, no fire recorded at its
  next time. A plain group whose decision starts one job each is written set-based from the ids
  (``fire_writer.BatchWriter.start_group``); the ids of the others are read again as rows
  (``rows_of``) and decided one by one. A burst of definitions sharing a few schedules so
  costs a few groups per batch in Python, not a row per definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.engine import Result, Row
from sqlalchemy.orm import Session

from scorecast.domain.job_statuses import ACTIVE_STATUSES
from scorecast.service.job_checks import CREDENTIAL_KEYS
from scorecast.store.id_lists import among
from scorecast.store.json_text import json_text
from scorecast.store.models import Deployment, Job, JobDefinition, ScheduleFire, User
from scorecast.store.planner_hints import planner_avoids
from scorecast.store.types import UTCDateTime

_SPEC = JobDefinition.job_spec

#: The spec keys that name a credential, data store or dataset (checked before a fire).
REFERENCE_KEYS: Final = (*CREDENTIAL_KEYS, "dataStoreId", "datasetId")

#: A reference the fire must check exists (a credential, data store or dataset).
_HAS_REFERENCES: Final = or_(
    *(
        json_text(_SPEC, side, key).is_not(None)
        for side in ("intakeSettings", "outputSettings")
        for key in REFERENCE_KEYS
    )
)

#: What the batch reads of each due definition. The schedule and policies come as their JSON
#: text (the writer parses each distinct text once); of the spec only the few fields the
#: decision needs, read in SQL: the whole spec is loaded only for the rare definitions whose
#: jobs the writer builds row by row (``fire_writer.BatchWriter``).
DUE_COLUMNS: Final = (
    JobDefinition.id,
    JobDefinition.org_id,
    cast(JobDefinition.schedule, Text).label("schedule_text"),
    cast(JobDefinition.policies, Text).label("policies_text"),
    json_text(_SPEC, "deploymentId").label("spec_deployment_id"),
    json_text(_SPEC, "intakeSettings", "type").label("intake_type"),
    _HAS_REFERENCES.label("has_references"),
    JobDefinition.next_scheduled_run_time,
    JobDefinition.updated_by,
    JobDefinition.created_by,
)

_ORDER: Final = (JobDefinition.next_scheduled_run_time, JobDefinition.id)
#: Separates the ids of a group in ``group_concat``'s text (ids are hexadecimal digits).
_SEPARATOR: Final = ","


@dataclass(frozen=True)
class DueGroup:
    """Due definitions of one batch that share their decision (see the module docstring)."""

    schedule_text: str | None
    policies_text: str | None
    next_time: datetime
    intake_type: str | None
    plain: bool
    definition_ids: list[str]
    #: the greatest id of the group: with ``next_time``, where the batch ends if it is last
    last_id: str


def due_rows(
    session: Session, now: datetime, limit: int, after: tuple[datetime, str] | None
) -> Sequence[Row[Any]]:
    """The batch's definitions as rows of ``DUE_COLUMNS``, in the due index's order."""
    start = None if after is None else _literals(after)
    query = (
        select(*DUE_COLUMNS)
        .where(*_due(literal(now, UTCDateTime()), start))
        .order_by(*_ORDER)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=JobDefinition, skip_locked=True)
    # the due index in its order, stopping at ``limit``; plain rows through the session's
    # connection (a batch's thousands of rows skip the ORM's loading, which cost more than the
    # query)
    with planner_avoids(session, "sort", "bitmapscan"):
        result: Result[Any] = session.connection().execute(query)
        return result.all()


def due_groups(
    session: Session, now: datetime, limit: int, after: tuple[datetime, str] | None
) -> list[DueGroup]:
    """SQLite: the batch as groups (see the module docstring); the caller holds the write
    lock, so the rows stay as read until its transaction ends."""
    values: dict[str, Any] = {"now": now, "limit": limit}
    if after is not None:
        values |= {"after_time": after[0], "after_id": after[1]}
    return [
        DueGroup(
            row.schedule_text,
            row.policies_text,
            row.next_time,
            row.intake_type,
            bool(row.plain),
            row.ids.split(_SEPARATOR),
            row.last_id,
        )
        for row in session.connection().execute(_groups_query(after is not None), values)
    ]


@cache
def _groups_query(after: bool) -> Select[Any]:
    """``due_groups``' statement, built once rather than by every batch: bound ``now`` and
    ``limit``, and with ``after``, ``after_time`` and ``after_id``."""
    definition = JobDefinition
    now = bindparam("now", type_=UTCDateTime())
    start = (bindparam("after_time", type_=UTCDateTime()), bindparam("after_id", type_=String()))
    batch = (
        select(
            cast(definition.schedule, Text).label("schedule_text"),
            cast(definition.policies, Text).label("policies_text"),
            definition.next_scheduled_run_time.label("next_time"),
            json_text(_SPEC, "intakeSettings", "type").label("intake_type"),
            _plain().label("plain"),
            definition.id,
        )
        .where(*_due(now, start if after else None))
        .order_by(*_ORDER)
        .limit(bindparam("limit", type_=Integer()))
        .subquery("batch")
    )
    keys = (
        batch.c.schedule_text,
        batch.c.policies_text,
        batch.c.next_time,
        batch.c.intake_type,
        batch.c.plain,
    )
    return select(
        *keys,
        func.group_concat(batch.c.id, _SEPARATOR).label("ids"),
        func.max(batch.c.id).label("last_id"),
    ).group_by(*keys)


def rows_of(session: Session, definition_ids: list[str]) -> Sequence[Row[Any]]:
    """The due definitions ``definition_ids`` as rows of ``DUE_COLUMNS``, in the due order."""
    if not definition_ids:
        return []
    query = (
        select(*DUE_COLUMNS)
        .where(among(session, JobDefinition.id, definition_ids))
        .order_by(*_ORDER)
    )
    result: Result[Any] = session.connection().execute(query)
    return result.all()


def _due(
    now: ColumnElement[datetime], after: tuple[ColumnElement[datetime], ColumnElement[str]] | None
) -> list[ColumnElement[bool]]:
    """Due, and after ``after`` (next fire time, id) in the due order when given."""
    conditions = [
        JobDefinition.enabled.is_(True),
        JobDefinition.next_scheduled_run_time.is_not(None),
        JobDefinition.next_scheduled_run_time <= now,
        or_(JobDefinition.next_due_at.is_(None), JobDefinition.next_due_at <= now),
    ]
    if after is not None:
        conditions.append(tuple_(*_ORDER) > tuple_(*after))
    return conditions


def _literals(after: tuple[datetime, str]) -> tuple[ColumnElement[datetime], ColumnElement[str]]:
    return literal(after[0], UTCDateTime()), literal(after[1], String())


def _plain() -> ColumnElement[bool]:
    """Whether a definition's fire needs nothing of its own read (see the module docstring):
    what ``fire_writer.BatchWriter`` checks row by row, here in SQL, each by an index."""
    definition = JobDefinition
    return and_(
        not_(_HAS_REFERENCES),
        exists().where(User.id == definition.updated_by),
        exists().where(
            Deployment.id == json_text(_SPEC, "deploymentId"),
            Deployment.org_id == definition.org_id,
        ),
        not_(exists().where(Job.definition_id == definition.id, Job.status.in_(ACTIVE_STATUSES))),
        not_(
            exists().where(
                ScheduleFire.definition_id == definition.id,
                ScheduleFire.scheduled_time == definition.next_scheduled_run_time,
            )
        ),
    )
