"""What a job's JSON needs besides its row: creator, logs, queue position, definition name,
the name of the dataset it reads.

Loaded for a page of jobs at once: one query each for users, definitions, datasets and logs,
and one for the queue positions of the page's waiting jobs. ``api/serializers.py`` turns a
``JobView`` into JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple, Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    case,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Tuple

from scorecast.service.caller import Caller
from scorecast.store.models import (
    JOB_WAITING,
    Dataset,
    Job,
    JobDefinition,
    JobLog,
    QueueTally,
    User,
)

#: At most this many of a job's most recent log lines are shown.
MAX_LOG_LINES: Final = 1000


class JobFields(Protocol):
    """The columns of a job its JSON reads: a ``Job`` or a row of the ``jobs`` table (the list
    reads rows, see ``service.jobs.list_jobs``)."""

    @property
    def id(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def definition_id(self) -> str | None: ...
    @property
    def spec(self) -> dict[str, Any]: ...
    @property
    def source(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def status_details(self) -> str: ...
    @property
    def queued(self) -> bool: ...
    @property
    def abort_requested(self) -> bool: ...
    @property
    def intake_ready(self) -> bool: ...
    @property
    def scheduled_time(self) -> datetime | None: ...
    @property
    def created_by(self) -> str: ...
    @property
    def created(self) -> datetime: ...
    @property
    def started(self) -> datetime | None: ...
    @property
    def finished(self) -> datetime | None: ...
    @property
    def percentage_completed(self) -> float: ...
    @property
    def scored_rows(self) -> int: ...
    @property
    def failed_rows(self) -> int: ...
    @property
    def skipped_rows(self) -> int: ...
    @property
    def intake_size(self) -> int | None: ...
    @property
    def output_size(self) -> int | None: ...
    @property
    def rows_per_second(self) -> float | None: ...
    @property
    def eta_seconds(self) -> float | None: ...
    @property
    def results_deleted(self) -> bool: ...


@dataclass(frozen=True)
class UserRef:
    """The ``createdBy``/``updatedBy`` object: who did it."""

    user_id: str
    username: str
    full_name: str | None


@dataclass(frozen=True)
class DefinitionRef:
    id: str
    name: str


@dataclass(frozen=True)
class JobView:
    """A job with what its JSON needs besides its row (see ``api/serializers.job_to_wire``)."""

    job: JobFields
    created_by: UserRef
    logs: list[str]
    queue_position: int | None
    definition: DefinitionRef | None
    #: the name of the dataset a ``dataset`` intake reads (None for other intakes, or when the
    #: dataset was deleted since): DataRobot's ``intakeDatasetDisplayName``
    intake_dataset_name: str | None = None


def job_views(
    session: Session,
    jobs: Sequence[JobFields],
    *,
    with_logs: bool = True,
    with_positions: bool = True,
    caller: Caller | None = None,
) -> list[JobView]:
    """What the JSON of each job needs: creator, logs, queue position, definition name.

    A list that shows no logs (or no queue positions) leaves them out: each costs a query
    over the page's jobs (the positions one over every job waiting ahead of them). ``caller``:
    the user asking (see ``user_refs``).
    """
    users = user_refs(session, {job.created_by for job in jobs}, caller=caller)
    definition_ids = {job.definition_id for job in jobs if job.definition_id}
    names: dict[str, str] = {}
    if definition_ids:
        rows = session.execute(
            select(JobDefinition.id, JobDefinition.name).where(JobDefinition.id.in_(definition_ids))
        )
        names = {row[0]: row[1] for row in rows}
    logs = _logs(session, [job.id for job in jobs]) if with_logs else {}
    positions = queue_positions(session, jobs) if with_positions else {}
    datasets = _dataset_names(session, jobs)
    views = []
    for job in jobs:
        definition = None
        if job.definition_id and job.definition_id in names:
            definition = DefinitionRef(job.definition_id, names[job.definition_id])
        views.append(
            JobView(
                job=job,
                created_by=users.get(job.created_by, UserRef(job.created_by, "unknown", None)),
                logs=logs.get(job.id, []),
                queue_position=positions.get(job.id),
                definition=definition,
                intake_dataset_name=datasets.get((job.org_id, _intake_dataset_id(job))),
            )
        )
    return views


def _intake_dataset_id(job: JobFields) -> str | None:
    intake = job.spec.get("intakeSettings") or {}
    dataset_id = intake.get("datasetId") if intake.get("type") == "dataset" else None
    return dataset_id if isinstance(dataset_id, str) else None


def _dataset_names(
    session: Session, jobs: Sequence[JobFields]
) -> dict[tuple[str, str | None], str]:
    """The names of the datasets the jobs read, by (organization, dataset id)."""
    wanted = {(job.org_id, _intake_dataset_id(job)) for job in jobs if _intake_dataset_id(job)}
    if not wanted:
        return {}
    rows = session.execute(
        select(Dataset.org_id, Dataset.id, Dataset.name).where(
            Dataset.id.in_({dataset_id for _, dataset_id in wanted})
        )
    )
    return {(org, ident): name for org, ident, name in rows if (org, ident) in wanted}


def queue_position(session: Session, job: JobFields) -> int | None:
    """How many claimable jobs (of every organization) are ahead of ``job``; None if not waiting.

    A job waits when it is ``INITIALIZING``, queued, its intake is ready and no abort was asked.
    """
    return queue_positions(session, [job]).get(job.id)


def queue_positions(session: Session, jobs: Sequence[JobFields]) -> dict[str, int]:
    """``queue_position`` of each waiting job among ``jobs``, through the partial index of
    waiting jobs: how many wait before the first of them, then (for more than one) the waiting
    jobs from the first to the last of them, numbered in claim order (created, then id).

    How many wait before the first is the number waiting in all (the queue tally's sum) less
    the jobs waiting from the first on, when fewer than ``BEHIND_COUNTED`` do (a recent job, the
    one its client polls); else they are counted (a job far from both ends of a long queue).
    Either way one statement reads it, with the range for a page: one snapshot, so the
    positions are exact even while other transactions claim and queue jobs.
    """
    waiting = sorted((job for job in jobs if _is_waiting(job)), key=_claim_order)
    if not waiting:
        return {}
    first, last = waiting[0], waiting[-1]
    statements = _queue_statements(session.get_bind().dialect.name == "postgresql")
    place = {"first_created": first.created, "first_id": first.id, "counted": BEHIND_COUNTED}
    if len(waiting) == 1:  # one job (its GET): the count is its position
        return {first.id: max(session.scalar(statements.ahead, place) or 0, 0)}
    rows = session.execute(
        statements.page, {**place, "last_created": last.created, "last_id": last.id}
    ).all()
    wanted = {job.id for job in waiting}
    # never negative, were the tally ever changed by hand
    return {
        row.id: max(row.ahead or 0, 0) + rank for rank, row in enumerate(rows) if row.id in wanted
    }


def _claim_order(job: JobFields) -> tuple[datetime, str]:
    return (job.created, job.id)


class _QueueStatements(NamedTuple):
    """``queue_positions``' statements for one kind of store, made once: building them (and
    their cache keys) on every request cost a job's GET more than running them."""

    #: how many wait ahead of the first (``ahead``)
    ahead: Select[Any]
    #: that (``ahead``, on each row) and the ids of the jobs waiting from the first to the last
    #: (``id``), in claim order
    page: Select[Any]


@functools.cache
def _queue_statements(postgresql: bool) -> _QueueStatements:
    """Claim order (created, then id) is compared as one row value, a range of the waiting
    jobs' index (status, created, id). On PostgreSQL the row value holds the status too (every
    waiting job's, ``INITIALIZING``): the index's condition fixes the status, so PostgreSQL
    keeps no equality on the index's first column and could not start or stop a scan of it at
    a bound on (created, id) alone; it read the whole index for every bound (96 pages and
    1.2 ms with 10,000 waiting, for the newest job too). SQLite keeps that equality and ranges
    over (created, id); with the status in the row value it took another index.

    The jobs ahead are the tally's total less those waiting from the first on when fewer than
    ``counted`` do, else counted: the count is the second argument of a ``COALESCE``, a subquery
    that both stores run only when the first is null.

    The page's statement reads ``ahead`` on each row of the range (a subquery run once); a
    range that is empty (every job of it claimed since the page was read) has no positions."""
    status: tuple[ColumnElement[Any], ...] = (
        (literal_column("'INITIALIZING'"),) if postgresql else ()
    )
    order = tuple_(*((Job.status,) if postgresql else ()), Job.created, Job.id)

    def key(name: str) -> Tuple:
        """A waiting job's place in claim order, bound as ``name_created`` and ``name_id``."""
        return tuple_(
            *status,
            bindparam(f"{name}_created", type_=Job.created.type),
            bindparam(f"{name}_id", type_=Job.id.type),
        )

    counted = bindparam("counted", type_=Integer())
    from_first = select(Job.id).where(JOB_WAITING, key("first") <= order).limit(counted).subquery()
    total = select(func.coalesce(func.sum(QueueTally.delta), 0)).scalar_subquery()
    behind = func.count()
    # null when ``counted`` or more wait from the first on (one count, read twice)
    total_less_behind = (
        select(case((behind < counted, total - behind))).select_from(from_first).scalar_subquery()
    )
    counted_ahead = (
        select(func.count()).select_from(Job).where(JOB_WAITING, key("first") > order)
    ).scalar_subquery()
    ahead = func.coalesce(total_less_behind, counted_ahead).label("ahead")
    in_range = (
        select(Job.id, Job.created)
        .where(JOB_WAITING, key("first") <= order, key("last") >= order)
        .subquery("in_range")
    )
    return _QueueStatements(
        ahead=select(ahead),
        page=select(ahead, in_range.c.id).order_by(in_range.c.created, in_range.c.id),
    )


#: At most this many jobs waiting from the first of ``queue_positions``' jobs on are counted
#: (index entries: a few microseconds each); more, and the ones ahead of it are counted instead.
BEHIND_COUNTED: Final = 500


def user_refs(
    session: Session, user_ids: Collection[str], *, caller: Caller | None = None
) -> dict[str, UserRef]:
    """Who each of ``user_ids`` is. ``caller``: the user asking, read with their token for this
    request, so not read again (most objects a user lists are their own)."""
    refs: dict[str, UserRef] = {}
    wanted = set(user_ids)
    if caller is not None and caller.user_id in wanted:
        refs[caller.user_id] = UserRef(caller.user_id, caller.username, caller.full_name)
        wanted.discard(caller.user_id)
    if wanted:
        rows = session.execute(
            select(User.id, User.username, User.full_name).where(User.id.in_(wanted))
        )
        refs.update((user_id, UserRef(user_id, name, full)) for user_id, name, full in rows)
    return refs


def _is_waiting(job: JobFields) -> bool:
    return (
        job.status == "INITIALIZING" and job.queued and job.intake_ready and not job.abort_requested
    )


#: A job's newest ``MAX_LOG_LINES`` lines, newest first (``_logs``). The log statements are
#: built once, their ids bound per call: building one per request cost a list page more than
#: running it.
_NEWEST_LINES: Final = (
    select(JobLog.message)
    .where(JobLog.job_id == bindparam("job_id"))
    .order_by(JobLog.id.desc())
    .limit(MAX_LOG_LINES)
)
_RANKED: Final = (
    select(
        JobLog.job_id,
        JobLog.id,
        JobLog.message,
        func.row_number().over(partition_by=JobLog.job_id, order_by=JobLog.id.desc()).label("rank"),
    )
    .where(JobLog.job_id.in_(bindparam("job_ids", expanding=True)))
    .subquery()
)
#: The newest ``MAX_LOG_LINES`` lines of each of several jobs, by job then oldest first.
_RECENT_LINES: Final = (
    select(_RANKED.c.job_id, _RANKED.c.message)
    .where(_RANKED.c.rank <= MAX_LOG_LINES)
    .order_by(_RANKED.c.job_id, _RANKED.c.id)
)


def _logs(session: Session, job_ids: Collection[str]) -> dict[str, list[str]]:
    """The last ``MAX_LOG_LINES`` lines of each job, oldest first, in one query."""
    if not job_ids:
        return {}
    if len(job_ids) == 1:  # one job's page (most requests): its newest lines, no window
        (job_id,) = job_ids
        lines = list(session.execute(_NEWEST_LINES, {"job_id": job_id}).scalars())
        lines.reverse()
        return {job_id: lines} if lines else {}
    rows = session.execute(_RECENT_LINES, {"job_ids": list(set(job_ids))})
    logs: dict[str, list[str]] = {}
    for job_id, message in rows:
        logs.setdefault(job_id, []).append(message)
    return logs
