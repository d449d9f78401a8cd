"""One claimed job, run to its end inside a job process (``scorecast.runtime.job_process``).

``JobRun.execute``: deployment → intake and output from the connector registry →
``engine.run_job`` → ``output.commit()`` → ``finish_job(COMPLETED)``. Any failure aborts the
output (nothing half-written is ever presented) and ends the job ``ABORTED`` (user abort,
``abortOnError``) or ``FAILED`` (everything else) with a message.

The worker that claimed the job keeps its lease alive and tells this run, through ``signals``,
when to stop early: ``"abort"`` (a user asked), ``"lost"`` (another worker took the job over:
stop without writing anything to the store) or ``"shutdown"`` (the service stops: the job goes
back to the queue). The run also reads abort requests and lost leases from the store each time
it reports progress (at least once a second), so it stops on its own if the worker is gone.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from scorecast.config import Settings
from scorecast.connectors import localfile as _localfile  # noqa: F401 - registers localFile
from scorecast.connectors import registry
from scorecast.connectors.base import ConnectorContext, Intake, Output
from scorecast.domain.model_description import ModelDescription
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import Progress, run_job
from scorecast.errors import ConnectorError, JobFailure, NotFound, ScorecastError
from scorecast.service import claims
from scorecast.service.claims import Claim, ProgressUpdate
from scorecast.store.db import session_scope
from scorecast.store.models import Dataset, DatasetVersion, DataStore, Deployment, Job
from scorecast.store.types import utcnow

log = logging.getLogger("scorecast.worker")


class JobRun:
    """Runs ``claim``'s job once; ``signals()`` returns the worker's signals received so far."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        claim: Claim,
        signals: Callable[[], set[str]],
    ) -> None:
        self.settings, self.engine, self.claim = settings, engine, claim
        self._signals = signals
        self.abort_requested = False
        self.lost = False
        self.shutdown = False
        self.last_progress: Progress | None = None

    def execute(self) -> None:
        claim = self.claim
        intake: Intake | None = None
        output: Output | None = None
        try:
            plan = self._plan()
            ctx = self._context(plan)
            intake = registry.open_intake(
                plan.spec["intakeSettings"], ctx, plan.options.csv_settings
            )
            output = registry.open_output(
                plan.spec["outputSettings"], ctx, plan.options.csv_settings
            )
            total = getattr(intake, "size", None) or plan.intake_size
            outcome = run_job(
                intake,
                output,
                artifact=plan.artifact,
                description=plan.description,
                options=plan.options,
                num_concurrent=plan.num_concurrent,
                chunk_size=plan.options.chunk_size,
                report=self._report,
                should_abort=self._should_stop,
                log=self._log,
                total_bytes=total,
            )
            self._should_stop()
            if self.lost:  # another worker owns the job now: its output must win
                raise JobFailure("lease lost", abort=True)
            output.commit()
        except BaseException as exc:
            if output is not None:
                _quietly(output.abort)
            self._end_failed(exc)
            return
        finally:
            if intake is not None:
                _quietly(intake.close)
        details = (
            f"Job completed at {utcnow():%Y-%m-%d %H:%M:%S}: {outcome.rows_scored} rows scored"
            f", {outcome.rows_failed} failed, in {outcome.elapsed_seconds:.1f} s "
            f"({outcome.rows_per_second:,.0f} rows/s)"
        )
        progress = ProgressUpdate(
            percentage=100.0,
            scored_rows=outcome.rows_scored,
            failed_rows=outcome.rows_failed,
            intake_size=outcome.bytes_read or None,
            output_size=outcome.bytes_written,
            rows_per_second=outcome.rows_per_second,
        )
        with session_scope(self.engine) as session:
            done = claims.finish_job(
                session, claim, "COMPLETED", details, utcnow(), progress=progress
            )
        log.info("job %s: %s", claim.job_id, details if done else "finished after losing its lease")

    # --- stopping -------------------------------------------------------------------------------

    def _should_stop(self) -> bool:
        received = self._signals()
        self.abort_requested |= "abort" in received
        self.lost |= "lost" in received
        self.shutdown |= "shutdown" in received
        return self.abort_requested or self.lost or self.shutdown

    def _end_failed(self, exc: BaseException) -> None:
        claim = self.claim
        self._should_stop()
        if self.lost:
            log.warning("job %s: stopped after losing its lease", claim.job_id)
            return
        now = utcnow()
        if self.shutdown and not self.abort_requested:
            with session_scope(self.engine) as session:
                claims.release_job(session, claim, "the worker shut down", now)
            log.info("job %s: put back in the queue (worker shutting down)", claim.job_id)
            return
        status, message = failure(exc, self.abort_requested)
        if status == "FAILED" and not isinstance(exc, ScorecastError):
            log.error("job %s failed:\n%s", claim.job_id, "".join(traceback.format_exception(exc)))
        last = self.last_progress
        progress = (
            ProgressUpdate(
                scored_rows=last.rows_scored,
                failed_rows=last.rows_failed,
                output_size=last.bytes_written,
                rows_per_second=last.rows_per_second,
            )
            if last is not None
            else None
        )
        with session_scope(self.engine) as session:
            claims.end_with_failure(session, claim, status, message, utcnow(), progress=progress)
        log.info("job %s: %s: %s", claim.job_id, status, message)

    # --- what the job tells the store -----------------------------------------------------------

    def _report(self, progress: Progress) -> None:
        self.last_progress = progress
        eta = f", about {progress.eta_seconds:.0f} s left" if progress.eta_seconds else ""
        update = ProgressUpdate(
            percentage=min(progress.percentage, 99.9) if progress.percentage is not None else None,
            scored_rows=progress.rows_scored,
            failed_rows=progress.rows_failed,
            output_size=progress.bytes_written,
            rows_per_second=progress.rows_per_second,
            eta_seconds=progress.eta_seconds,
            status_details=(
                f"Scoring: {progress.rows_scored + progress.rows_failed:,} rows processed "
                f"({progress.rows_per_second:,.0f} rows/s){eta}"
            ),
        )
        try:
            with session_scope(self.engine) as session:
                if not claims.report_progress(session, self.claim, update):
                    self.lost = True
                elif claims.abort_requested(session, self.claim.job_id):
                    self.abort_requested = True
        except Exception:
            log.exception("job %s: storing progress failed", self.claim.job_id)

    def _log(self, message: str) -> None:
        try:
            with session_scope(self.engine) as session:
                claims.append_log(session, self.claim.job_id, message)
        except Exception:
            log.exception("job %s: storing a log line failed", self.claim.job_id)

    # --- what a job needs -----------------------------------------------------------------------

    def _plan(self) -> _Plan:
        with session_scope(self.engine) as session:
            job = session.get(Job, self.claim.job_id)
            if job is None:
                raise JobFailure("the job was deleted")
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
            spec = dict(job.spec)
            options = ScoringOptions.from_job_spec(spec)
            num_concurrent = int(spec.get("numConcurrent") or options.num_concurrent or 1)
            description = ModelDescription.from_dict(deployment.model)
            if self.settings.scoring_parallelism != "auto":  # the operator's choice
                description = replace(description, parallelism=self.settings.scoring_parallelism)
            return _Plan(
                org_id=job.org_id,
                spec=spec,
                options=options,
                description=description,
                artifact=artifact_path(self.settings, deployment.artifact_path),
                num_concurrent=max(1, num_concurrent),
                intake_size=job.intake_size,
                scheduled_time=job.scheduled_time.isoformat() if job.scheduled_time else None,
            )

    def _context(self, plan: _Plan) -> ConnectorContext:
        engine, settings, org_id = self.engine, self.settings, plan.org_id

        def credential(credential_id: str) -> dict[str, Any]:
            from scorecast.service.credentials import reveal

            with session_scope(engine) as session:
                try:
                    return reveal(session, org_id, credential_id, settings)
                except NotFound as exc:
                    raise ConnectorError(
                        f"credential {credential_id} no longer exists",
                        {"credentialId": "not found"},
                    ) from exc

        def data_store(data_store_id: str) -> dict[str, Any]:
            with session_scope(engine) as session:
                store = session.scalar(
                    select(DataStore).where(
                        DataStore.id == data_store_id, DataStore.org_id == org_id
                    )
                )
                if store is None:
                    raise ConnectorError(
                        f"data store {data_store_id} no longer exists",
                        {"dataStoreId": "not found"},
                    )
                return {"type": store.type, "canonicalName": store.canonical_name, **store.params}

        def dataset_path(dataset_id: str, version_id: str | None) -> Path:
            with session_scope(engine) as session:
                query = (
                    select(DatasetVersion)
                    .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                    .where(Dataset.id == dataset_id, Dataset.org_id == org_id)
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
                return settings.datasets_dir / version.path

        template = {"job_id": self.claim.job_id, "attempt": str(self.claim.attempt)}
        if plan.scheduled_time:
            template["scheduled_time"] = plan.scheduled_time
        return ConnectorContext(
            credential=credential,
            data_store=data_store,
            dataset_path=dataset_path,
            settings=settings,
            template=template,
        )


@dataclass(frozen=True)
class _Plan:
    org_id: str
    spec: dict[str, Any]
    options: ScoringOptions
    description: ModelDescription
    artifact: Path
    num_concurrent: int
    intake_size: int | None
    scheduled_time: str | None


def artifact_path(settings: Settings, stored: str) -> Path:
    """The file of a deployment's model: ``stored`` is relative to the artifacts folder
    (absolute paths are used as they are)."""
    path = Path(stored)
    return path if path.is_absolute() else settings.artifacts_dir / path


def failure(exc: BaseException, abort_requested: bool) -> tuple[str, str]:
    """The terminal status and the message for a job that ended with ``exc``."""
    if abort_requested:
        return "ABORTED", "aborted on request"
    if isinstance(exc, JobFailure):
        return ("ABORTED" if exc.abort else "FAILED"), exc.message
    if isinstance(exc, ScorecastError):
        return "FAILED", exc.message
    if isinstance(exc, MemoryError):
        return "FAILED", "out of memory (try a smaller chunkSize or fewer numConcurrent)"
    return "FAILED", f"internal error ({type(exc).__name__}); details are in the server log"


def _quietly(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:
        log.exception("cleaning up after a job failed")
