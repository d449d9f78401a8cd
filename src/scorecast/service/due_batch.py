"""Reading one batch of due definitions for ``service.firing``, as groups that share one decision.

Due = ``enabled`` and ``next_scheduled_run_time <= now`` (with jitter, ``next_due_at <= now``
too); a batch is the first ``limit`` due definitions after ``after`` in the order of the index
``(enabled, next_scheduled_run_time, id)``, read in that order, never every due one sorted. On
PostgreSQL the batch's definitions are locked ``FOR UPDATE SKIP LOCKED``, so that concurrent
schedulers split the due set; on SQLite the caller holds the write lock. Either way the rows
stay as read until the caller's transaction ends.

``due_groups`` returns the batch as groups that share one firing decision, each definition's id
in one string per group (never a row each). A group is the definitions with the same schedule,
policies, next fire time and intake type, and the same answer to *plain*: no credential, data
store or dataset to check, its last editor and its deployment still exist, no waiting or running
job (neither found by an index probe nor named by its last started job's status), no fire
recorded at its next time. A plain group whose decision starts one job each is written
set-based from the ids (``fire_writer.BatchWriter.start_group``); the ids of the others are read
again as rows of ``DUE_COLUMNS`` (``rows_of``) and decided one by one. A burst of definitions
sharing a few schedules so costs a few groups per batch in Python, not a row per definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final, NamedTuple

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
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.engine import Result, Row
from sqlalchemy.orm import InstrumentedAttribute, Session

from scorecast.domain.job_statuses import ACTIVE_STATUSES
from scorecast.service.job_checks import CREDENTIAL_KEYS
from scorecast.store.id_lists import among
from scorecast.store.json_text import json_text
from scorecast.store.models import Deployment, Job, JobDefinition, ScheduleFire, User
from scorecast.store.planner_hints import planner_avoids
from scorecast.store.types import UTCDateTime

_SPEC = JobDefinition.job_spec

#: A column of a table, or of a subquery or expression.
_Column = ColumnElement[Any] | InstrumentedAttribute[Any]

#: The spec keys that name a credential, data store or dataset (checked before a fire).
REFERENCE_KEYS: Final = (*CREDENTIAL_KEYS, "dataStoreId", "datasetId")


def _has_references(spec: _Column) -> ColumnElement[bool]:
    """The stored ``spec`` names a credential, data store or dataset (the fire checks it)."""
    return or_(
        *(
            json_text(spec, side, key).is_not(None)
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
    _has_references(_SPEC).label("has_references"),
    JobDefinition.next_scheduled_run_time,
    JobDefinition.updated_by,
    JobDefinition.created_by,
)

_ORDER: Final = (JobDefinition.next_scheduled_run_time, JobDefinition.id)
#: Separates the ids of a group in its aggregated text (``aggregate_strings``: ``group_concat``
#: on SQLite, ``string_agg`` on PostgreSQL; ids are hexadecimal digits).
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


def due_groups(
    session: Session, now: datetime, limit: int, after: tuple[datetime, str] | None
) -> list[DueGroup]:
    """The batch as groups (see the module docstring), in the caller's transaction."""
    values: dict[str, Any] = {"now": now, "limit": limit}
    if after is not None:
        values |= {"after_time": after[0], "after_id": after[1]}
    postgresql = session.get_bind().dialect.name == "postgresql"
    # the batch read in the due index's order, stopping at ``limit`` (PostgreSQL's statistics
    # lag a burst: ``store.planner_hints``)
    with planner_avoids(session, "sort", "bitmapscan"):
        rows = session.connection().execute(_groups_query(after is not None, postgresql), values)
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
            for row in rows
        ]


@cache
def _groups_query(after: bool, postgresql: bool) -> Select[Any]:
    """``due_groups``' statement, built once rather than by every batch: bound ``now`` and
    ``limit``, and with ``after``, ``after_time`` and ``after_id``."""
    definition = JobDefinition
    now = bindparam("now", type_=UTCDateTime())
    start = (bindparam("after_time", type_=UTCDateTime()), bindparam("after_id", type_=String()))
    stored = _Batch(
        definition.id,
        definition.org_id,
        definition.updated_by,
        definition.job_spec,
        cast(definition.schedule, Text).label("schedule_text"),
        cast(definition.policies, Text).label("policies_text"),
        definition.next_scheduled_run_time.label("next_time"),
        definition.last_started_job_status,
    )

    def batch(*columns: _Column) -> Select[Any]:
        return (
            select(*columns)
            .where(*_due(now, start if after else None))
            .order_by(*_ORDER)
            .limit(bindparam("limit", type_=Integer()))
        )

    if postgresql:
        # locked FOR UPDATE SKIP LOCKED, so that concurrent schedulers split the due set (in a
        # subquery: a grouped query cannot lock); what is computed of each definition (JSON,
        # index probes) is computed above the lock, of the definitions taken only: a row that
        # another scheduler holds is skipped before it costs anything
        locked = batch(*stored).with_for_update(of=definition, skip_locked=True)
        taken = locked.subquery("batch")
        rows = select(*_decided(_Batch(*taken.c))).subquery("decided")
    else:  # computed in the same pass (a subquery of the stored columns cost a quarter more)
        rows = batch(*_decided(stored)).subquery("batch")
    keys = (
        rows.c.schedule_text,
        rows.c.policies_text,
        rows.c.next_time,
        rows.c.intake_type,
        rows.c.plain,
    )
    return select(
        *keys,
        func.aggregate_strings(rows.c.id, _SEPARATOR).label("ids"),
        func.max(rows.c.id).label("last_id"),
    ).group_by(*keys)


class _Batch(NamedTuple):
    """The stored columns of a batch's definitions that its groups are computed from."""

    id: _Column
    org_id: _Column
    updated_by: _Column
    job_spec: _Column
    schedule_text: _Column
    policies_text: _Column
    next_time: _Column
    last_started_job_status: _Column


def _decided(batch: _Batch) -> list[_Column]:
    """What a group shares, and each definition's id."""
    return [
        batch.schedule_text,
        batch.policies_text,
        batch.next_time,
        json_text(batch.job_spec, "intakeSettings", "type").label("intake_type"),
        _plain(batch).label("plain"),
        batch.id,
    ]


def rows_of(session: Session, definition_ids: list[str]) -> list[Row[Any]]:
    """The due definitions ``definition_ids`` as rows of ``DUE_COLUMNS``, in the due order
    (sorted here: each is read by its primary key, and an ``ORDER BY`` could lead PostgreSQL,
    its statistics lagging a burst, to walk the due index instead)."""
    if not definition_ids:
        return []
    query = select(*DUE_COLUMNS).where(among(session, JobDefinition.id, definition_ids))
    with planner_avoids(session, "seqscan"):
        result: Result[Any] = session.connection().execute(query)
        rows = result.all()
    return sorted(rows, key=lambda row: (row.next_scheduled_run_time, row.id))


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


def _plain(batch: _Batch) -> ColumnElement[bool]:
    """Whether a definition of ``batch`` fires needing nothing of its own read (see the module
    docstring): what ``fire_writer.BatchWriter`` checks row by row, here in SQL, each by an
    index.

    Its last started job must not be waiting or running either, as the definition's own row
    says. On PostgreSQL the probes see the store as the statement began, but a definition that
    another scheduler fired and committed meanwhile is locked and returned in its new version
    when it is due again (a burst across its next fire time): the probes miss the job just
    started, and the row's ``last_started_job_status`` (set by that fire) shows it. Such a
    definition is decided row by row, its active runs read by a statement of their own."""
    spec = batch.job_spec
    status = batch.last_started_job_status
    return and_(
        not_(_has_references(spec)),
        or_(status.is_(None), status.not_in(ACTIVE_STATUSES)),
        exists().where(User.id == batch.updated_by),
        exists().where(
            Deployment.id == json_text(spec, "deploymentId"),
            Deployment.org_id == batch.org_id,
        ),
        _absent(Job.id, Job.definition_id == batch.id, Job.status.in_(ACTIVE_STATUSES)),
        _absent(
            ScheduleFire.id,
            ScheduleFire.definition_id == batch.id,
            ScheduleFire.scheduled_time == batch.next_time,
        ),
    )


def _absent(column: _Column, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """No row matches ``where``: one index probe per definition. Written as a scalar subquery
    rather than ``NOT EXISTS``: PostgreSQL may run a ``NOT EXISTS`` as one hash of every
    matching row (every waiting job, every fire row) per batch whenever its statistics, which
    lag a burst, say those are few; a burst's batches then cost in proportion to the jobs and
    fires the burst has made."""
    return select(column).where(*where).limit(1).scalar_subquery().is_(None)
