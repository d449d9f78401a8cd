"""Retention in the store: which jobs lose their results, and which rows are pruned.

Each definition's jobs follow the definition's ``retention``, or the server's default
(``config.RetentionSettings``) when the definition has none; ``domain.retention`` decides.
Jobs without a definition (submitted through ``batchPredictions/``, or whose definition was
deleted) keep their results for the server's ``max_age_days`` (``max_jobs`` counts the jobs of
one definition only).

- ``mark_expired_results`` sets ``results_deleted`` (and ``results_deleted_at``) on at most
  ``batch`` jobs and returns their ids: the caller removes their files after the commit
  (``runtime.retention_sweep``). A crash in between leaves files of a job already marked; the
  prune removes them again before the row goes.
- ``prunable_jobs`` / ``prune_jobs``: rows whose results were deleted at least
  ``prune_after_days`` ago, at most ``batch``; their logs go with them. Fire rows keep the id of
  a pruned job (the fire stays on record).

Several servers may sweep at once: marking is idempotent, and on PostgreSQL the prune skips the
rows another sweep has locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from scorecast.config import RetentionSettings
from scorecast.domain.definition_policies import policies_from_stored
from scorecast.domain.retention import FINISHED, RetainedJob, Retention, results_to_delete
from scorecast.store.models import Job, JobDefinition, JobLog


def effective_retention(
    stored_policies: dict[str, Any] | None, server: RetentionSettings
) -> Retention:
    """The retention a definition's jobs follow: its own, else the server's default."""
    own = policies_from_stored(stored_policies).retention
    if own is not None:
        return Retention(own.max_jobs, own.max_age_days, own.keep_last_successful)
    return _server(server)


def mark_expired_results(
    session: Session, server: RetentionSettings, now: datetime, *, batch: int
) -> list[str]:
    """Mark up to ``batch`` jobs whose results retention deletes; their ids, for file removal."""
    chosen: list[str] = []
    for definition_id, stored in _definitions(session):
        retention = effective_retention(stored, server)
        if retention.keeps_everything:
            continue
        jobs = [
            RetainedJob(*row)
            for row in session.execute(
                select(Job.id, Job.created, Job.finished, Job.status, Job.results_deleted).where(
                    Job.definition_id == definition_id
                )
            )
        ]
        chosen.extend(results_to_delete(jobs, retention, now)[: batch - len(chosen)])
        if len(chosen) >= batch:
            break
    if len(chosen) < batch and server.max_age_days is not None:
        chosen.extend(_orphans_past_age(session, server.max_age_days, now, batch - len(chosen)))
    in_order = sorted(chosen)  # concurrent sweeps lock rows in one order: no deadlock
    for start in range(0, len(in_order), 500):
        session.execute(
            update(Job)
            .where(Job.id.in_(in_order[start : start + 500]), Job.results_deleted.is_(False))
            .values(results_deleted=True, results_deleted_at=now)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return chosen


def prunable_jobs(
    session: Session, server: RetentionSettings, now: datetime, *, batch: int
) -> list[str]:
    """Up to ``batch`` jobs whose rows may go (results deleted a grace period ago)."""
    cutoff = now - timedelta(days=server.prune_after_days)
    query = (
        select(Job.id)
        .where(Job.results_deleted.is_(True), Job.results_deleted_at <= cutoff)
        .order_by(Job.results_deleted_at)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def prune_jobs(session: Session, job_ids: Sequence[str]) -> None:
    """Delete the rows (and logs) of ``job_ids``."""
    ids = list(job_ids)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        session.execute(delete(JobLog).where(JobLog.job_id.in_(part)))
        session.execute(delete(Job).where(Job.id.in_(part)))
    session.flush()


def _definitions(session: Session) -> list[tuple[str, dict[str, Any] | None]]:
    rows = session.execute(
        select(JobDefinition.id, JobDefinition.policies).order_by(JobDefinition.id)
    )
    return [(definition_id, stored) for definition_id, stored in rows]


def _orphans_past_age(session: Session, days: float, now: datetime, limit: int) -> list[str]:
    has_definition = exists().where(JobDefinition.id == Job.definition_id)
    query = (
        select(Job.id)
        .where(
            Job.status.in_(sorted(FINISHED)),
            Job.results_deleted.is_(False),
            Job.finished < now - timedelta(days=days),
            (Job.definition_id.is_(None)) | ~has_definition,
        )
        .order_by(Job.finished)
        .limit(limit)
    )
    return list(session.scalars(query))


def _server(server: RetentionSettings) -> Retention:
    return Retention(server.max_jobs, server.max_age_days, server.keep_last_successful)
