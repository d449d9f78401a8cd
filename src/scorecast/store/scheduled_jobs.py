"""Set-based writes of the scheduler's common case: one started job per definition.

``insert_started_runs`` writes, for definitions that each start one job for the same scheduled
time, the jobs (copied from the definitions' stored specs by ``INSERT … SELECT``, with ids made
by the database), their first log line and their ``started`` fire rows, for any number of
definitions, no spec passing through Python: on PostgreSQL one statement (the logs and fire rows
are inserted from the jobs insert's ``RETURNING`` in data-modifying CTEs), on SQLite three (the
logs and fires read the new jobs back by primary key). The ids come back by ``RETURNING``
(PostgreSQL, SQLite 3.35+).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Integer,
    String,
    Text,
    cast,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from scorecast.store.id_lists import among
from scorecast.store.models import Job, JobDefinition, JobLog, ScheduleFire, User
from scorecast.store.types import ID_SEQUENCE_SPAN, UTCDateTime, reserve_id_sequence


@dataclass(frozen=True)
class StartedRuns:
    """Definitions that each start one job at ``scheduled_time``, acting as their last editor."""

    definition_ids: Sequence[str]
    scheduled_time: datetime
    lateness_seconds: float
    intake_ready: bool  #: False for a localFile intake (the job waits for its upload)
    status_details: str
    log_time: str  #: the creation time as the job log's words show it


def insert_started_runs(
    session: Session, runs: StartedRuns, now: datetime
) -> list[tuple[str, str]]:
    """Write the jobs, logs and fire rows of ``runs``; each definition's id with its new job's."""
    definition = JobDefinition
    created = literal(now, UTCDateTime())
    jobs = insert(Job).from_select(
        [
            Job.id,
            Job.org_id,
            Job.deployment_id,
            Job.definition_id,
            Job.spec,
            Job.source,
            Job.status,
            Job.status_details,
            Job.queued,
            Job.abort_requested,
            Job.intake_ready,
            Job.scheduled_time,
            Job.created_by,
            Job.created,
            Job.percentage_completed,
            Job.scored_rows,
            Job.failed_rows,
            Job.skipped_rows,
            Job.attempt,
            Job.results_deleted,
            Job.after_previous,
            Job.fire_attempt,  # named: a CTE's insert gets no Python-side defaults
            Job.slow_reported,
        ],
        select(
            _new_ids(session, len(runs.definition_ids)),
            definition.org_id,
            definition.deployment_id,
            definition.id,
            definition.job_spec,
            literal("scheduled", String()),
            literal("INITIALIZING", String()),
            literal(runs.status_details, Text()),
            literal(True, Boolean()),
            literal(False, Boolean()),
            literal(runs.intake_ready, Boolean()),
            literal(runs.scheduled_time, UTCDateTime()),
            definition.updated_by,
            created,
            literal(0.0, Float()),
            literal(0, Integer()),
            literal(0, Integer()),
            literal(0, Integer()),
            literal(0, Integer()),
            literal(False, Boolean()),
            literal(False, Boolean()),
            literal(1, Integer()),
            literal(False, Boolean()),
        ).where(among(session, definition.id, runs.definition_ids)),
    )
    message_start = literal("Job created by ", Text())
    message_end = literal(f" by the scheduler at {runs.log_time}", Text())
    log_columns = [JobLog.job_id, JobLog.created, JobLog.message]
    fire_columns = [
        ScheduleFire.definition_id,
        ScheduleFire.scheduled_time,
        ScheduleFire.fired_at,
        ScheduleFire.outcome,
        ScheduleFire.job_id,
        ScheduleFire.lateness_seconds,
    ]
    started = literal("started", String())
    lateness = literal(runs.lateness_seconds, Float())
    if session.get_bind().dialect.name == "postgresql":
        # One statement: the logs and fire rows are written from the jobs insert's RETURNING
        # (data-modifying CTEs), so no batch looks its new jobs up again in a growing table
        new = jobs.returning(Job.id, Job.definition_id, Job.created_by, Job.scheduled_time).cte(
            "new_jobs"
        )
        logs = insert(JobLog).from_select(
            log_columns,
            select(new.c.id, created, message_start + User.username + message_end).join(
                User, User.id == new.c.created_by
            ),
        )
        fires = insert(ScheduleFire).from_select(
            fire_columns,
            select(new.c.definition_id, new.c.scheduled_time, created, started, new.c.id, lateness),
        )
        together = select(new.c.definition_id, new.c.id).add_cte(
            logs.cte("new_logs"), fires.cte("new_fires")
        )
        rows = session.connection().execute(together)  # plain rows: no ORM loading
        return [(definition_id, job_id) for definition_id, job_id in rows if definition_id]
    returned = session.connection().execute(jobs.returning(Job.definition_id, Job.id))
    made = [(definition_id, job_id) for definition_id, job_id in returned if definition_id]
    new_jobs = among(session, Job.id, [job_id for _, job_id in made])  # bound once, used twice
    session.execute(
        insert(JobLog).from_select(
            log_columns,
            select(Job.id, created, message_start + User.username + message_end)
            .join(User, User.id == Job.created_by)
            .where(new_jobs),
        )
    )
    session.execute(
        insert(ScheduleFire).from_select(
            fire_columns,
            select(Job.definition_id, Job.scheduled_time, created, started, Job.id, lateness).where(
                new_jobs
            ),
        )
    )
    return made


def _new_ids(session: Session, count: int) -> ColumnElement[str]:
    """24-hex-digit ids made by the database in ``store.types.new_id``'s layout for up to
    ``count`` rows: the current second, a run of this process's id sequence reserved for them
    (numbered in definition order), then 40 random bits."""
    first = reserve_id_sequence(count)
    second = literal(f"{int(time.time()):08x}", String())
    number = (first + func.row_number().over(order_by=JobDefinition.id)) % ID_SEQUENCE_SPAN
    if session.get_bind().dialect.name == "sqlite":
        sequence = func.printf("%06x", number, type_=String())
        random_part = func.lower(func.hex(func.randomblob(5)), type_=String())
        return second + sequence + random_part
    sequence = func.lpad(func.to_hex(number), 6, "0", type_=String())
    random_text = cast(func.random(), Text()) + cast(func.clock_timestamp(), Text())
    random_part = func.substr(func.md5(random_text + JobDefinition.id), 1, 10, type_=String())
    return second + sequence + random_part
