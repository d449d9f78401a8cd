"""``StoreLedger``: a claimed job's ``JobLedger`` on the store, in the worker that claimed it.

Each call is one transaction, but ``log``: a log line waits for the job's next write
(a progress report, at least once a second while it scores, or its end) and is appended in
that write's transaction, with the time it was logged, so that a line costs no transaction of
its own (a ten-row job logs one line and ends). A line still waiting when the job's process
crashes is written with the failure (``Worker._settle_crash``: ``pending_logs``); a job
whose lease was lost writes nothing, its lines included. Every write goes through
``service.claims`` and so is conditional on the claim still owning the job.

A worker may set ``claim_next``: the transaction that ends a job COMPLETED then also claims
the worker's next job and reads its plan (``next_job``), which the same job thread runs next,
so that a slot goes from one job to the next in one transaction instead of three (``worker``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.domain.job_claim import Claim, ProgressUpdate
from scorecast.domain.job_spec import JobSpec
from scorecast.errors import ConnectorError, JobFailure, NotFound
from scorecast.runtime.job_ledger import JobPlan
from scorecast.runtime.outage_log import OutageLog
from scorecast.service import claims
from scorecast.service.deployment_settings import scoring_description
from scorecast.store.db import session_scope
from scorecast.store.models import (
    Dataset,
    DatasetVersion,
    DataStore,
    Deployment,
    Job,
    Organization,
)
from scorecast.store.types import utcnow

log = logging.getLogger("scorecast.worker")


class StoreLedger:
    """The store as ``claim``'s job sees it (see ``job_ledger.JobLedger``)."""

    def __init__(self, settings: Settings, engine: Engine, claim: Claim) -> None:
        self.settings, self.engine, self.claim = settings, engine, claim
        self._org_id: str | None = None
        #: set once the job is being ended through this ledger (finish, fail, release): from
        #: then on the worker's heartbeat no longer finds the job owned, and that is expected
        self.ending = False
        self._plan: JobPlan | None = None
        #: (when, line) logged and not yet written (see the module docstring)
        self._pending_logs: list[tuple[datetime, str]] = []
        #: set by the worker: claims its next job in the transaction that ends this one
        self.claim_next: Callable[[Session, datetime], StoreLedger | None] | None = None
        #: the ledger of the job ``claim_next`` claimed, once that transaction committed
        self.next_job: StoreLedger | None = None
        self._outage = OutageLog(log, f"job {claim.job_id}: storing its progress and logs")

    def plan(self) -> JobPlan:
        """The job's plan, read once: the worker reads it before its job process asks
        (``worker``: whether the job needs a fresh process)."""
        if self._plan is None:
            self._plan = self._read_plan()
        return self._plan

    def _read_plan(self) -> JobPlan:
        with session_scope(self.engine, deferred=True) as session:  # a read: no write lock
            return self._plan_in(session)

    def read_plan_in(self, session: Session) -> None:
        """Read the plan in ``session``'s transaction (the one that claimed the job), so that
        ``plan`` needs none of its own; a job or deployment gone is left for ``plan`` to
        say."""
        try:
            self._plan = self._plan_in(session)
        except DBAPIError:  # the transaction failed: the caller's ``finish`` is retried
            raise
        except Exception:  # the job or its deployment is gone, its spec unreadable
            log.debug("job %s: its plan is read again when it runs", self.claim.job_id)

    def _plan_in(self, session: Session) -> JobPlan:
        job = session.get(Job, self.claim.job_id)
        if job is None:
            raise JobFailure("the job was deleted")
        self._org_id = job.org_id
        deployment = session.scalar(
            select(Deployment).where(
                Deployment.id == job.deployment_id, Deployment.org_id == job.org_id
            )
        )
        if deployment is None:
            raise JobFailure(
                f"deployment {job.deployment_id} no longer exists",
                {"deploymentId": "not found"},
            )
        spec = JobSpec.from_wire(job.spec)
        description = scoring_description(deployment)
        organization = session.get(Organization, job.org_id)
        if self.settings.scoring_parallelism != "auto":  # the operator's choice
            description = replace(description, parallelism=self.settings.scoring_parallelism)
        return JobPlan(
            spec=spec,
            description=description,
            artifact=artifact_key(deployment.artifact_path),
            intake_size=job.intake_size,
            scheduled_time=job.scheduled_time.isoformat() if job.scheduled_time else None,
            ambient_identity=self.settings.may_use_ambient_identity(
                organization.name if organization is not None else None
            ),
            created_time=job.created.isoformat(),
        )

    @property
    def org_id(self) -> str:
        if self._org_id is None:
            self.plan()
        assert self._org_id is not None
        return self._org_id

    def credential(self, credential_id: str) -> dict[str, Any]:
        from scorecast.service.credentials import reveal

        with session_scope(self.engine) as session:
            try:
                return reveal(session, self.org_id, credential_id, self.settings)
            except NotFound as exc:
                raise ConnectorError(
                    f"credential {credential_id} no longer exists",
                    {"credentialId": "not found"},
                ) from exc

    def data_store(self, data_store_id: str) -> dict[str, Any]:
        with session_scope(self.engine) as session:
            store = session.scalar(
                select(DataStore).where(
                    DataStore.id == data_store_id, DataStore.org_id == self.org_id
                )
            )
            if store is None:
                raise ConnectorError(
                    f"data store {data_store_id} no longer exists",
                    {"dataStoreId": "not found"},
                )
            return {"type": store.type, "canonicalName": store.canonical_name, **store.params}

    def dataset_path(self, dataset_id: str, version_id: str | None) -> str:
        with session_scope(self.engine) as session:
            query = (
                select(DatasetVersion)
                .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                .where(Dataset.id == dataset_id, Dataset.org_id == self.org_id)
            )
            if version_id:
                query = query.where(DatasetVersion.id == version_id)
            version = session.scalars(
                query.order_by(DatasetVersion.created.desc()).limit(1)
            ).first()
            if version is None:
                raise ConnectorError(
                    f"dataset {dataset_id}"
                    + (f" version {version_id}" if version_id else "")
                    + " no longer exists",
                    {"datasetId": "not found"},
                )
            return home_layout.dataset_key_of(version.path)

    def report(self, update: ProgressUpdate) -> frozenset[str]:
        try:
            with session_scope(self.engine) as session:
                if not claims.report_progress(session, self.claim, update):
                    return frozenset({"lost"})
                aborted = claims.abort_requested(session, self.claim.job_id)
                written = self._write_logs(session)
            self._outage.succeeded()
        except Exception as exc:
            self._outage.failed(exc)
            return frozenset()
        del self._pending_logs[:written]
        return frozenset({"abort"}) if aborted else frozenset()

    def log(self, message: str) -> None:
        self._pending_logs.append((utcnow(), message))

    @property
    def pending_logs(self) -> list[tuple[datetime, str]]:
        """The (when, line) logged and not yet written: for the caller that ends the job
        (``claims.end_with_failure(..., logs=...)``)."""
        return list(self._pending_logs)

    def _write_logs(self, session: Session) -> int:
        pending = list(self._pending_logs)
        for moment, message in pending:
            claims.append_log(session, self.claim.job_id, message, now=moment)
        return len(pending)

    def finish(self, summary: str, progress: ProgressUpdate) -> bool:
        now = utcnow()
        details = f"Job completed at {now:%Y-%m-%d %H:%M:%S}: {summary}"
        self.ending = True
        following = None
        with session_scope(self.engine) as session:
            done = claims.finish_job(
                session,
                self.claim,
                "COMPLETED",
                details,
                now,
                progress=progress,
                logs=self._pending_logs,
            )
            if done and self.claim_next is not None:
                following = self.claim_next(session, now)
        self.next_job = following
        return self._ended(done)

    def fail(self, status: str, message: str, progress: ProgressUpdate | None) -> None:
        self.ending = True
        with session_scope(self.engine) as session:
            done = claims.end_with_failure(
                session,
                self.claim,
                status,
                message,
                utcnow(),
                progress=progress,
                logs=self._pending_logs,
            )
        self._ended(done)

    def release(self, reason: str) -> None:
        self.ending = True
        with session_scope(self.engine) as session:
            done = claims.release_job(
                session, self.claim, reason, utcnow(), logs=self._pending_logs
            )
        self._ended(done)

    def _ended(self, done: bool) -> bool:
        """The lease was lost just before the job could be ended: the one warning for it (the
        heartbeat stays quiet once ``ending`` is set)."""
        if not done:
            log.warning("job %s: lease lost; stopping it", self.claim.job_id)
        return done


def artifact_key(stored: str) -> str:
    """The storage key of a deployment's model (``Deployment.artifact_path`` is relative to
    ``artifacts/``); an absolute path (a model registered outside the storage) as it is."""
    return stored if Path(stored).is_absolute() else home_layout.artifact_key_of(stored)
