"""The worker: claims jobs from the store and runs them, ``slots`` at a time.

- A claim loop takes the oldest claimable job whenever a slot is free (``claims.claim_next_job``
  under a lease), and runs it in a thread of its own: deployment → intake and output from the
  connector registry → ``engine.run_job`` → ``output.commit()`` → ``finish_job(COMPLETED)``.
  Any failure aborts the output (nothing half-written is ever presented) and ends the job
  ``ABORTED`` (user abort, ``abortOnError``) or ``FAILED`` (everything else) with a message.
- A heartbeat thread renews the leases of the running jobs every ``lease_seconds / 3`` and
  picks up abort requests: an aborted job stops within a heartbeat plus one progress tick.
  A job whose lease was lost (this process stalled and another worker took over) stops
  without writing anything to the store.
- ``stop()``: no new claims; running jobs stop and go back to the queue (``release_job``), so a
  restarted or another worker runs them again as a new attempt.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from scorecast.config import Settings
from scorecast.connectors import localfile as _localfile  # noqa: F401 - registers localFile
from scorecast.connectors import registry
from scorecast.connectors.base import ConnectorContext, Intake, Output
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import Progress, run_job
from scorecast.errors import ConnectorError, JobFailure, NotFound, ScorecastError
from scorecast.predictors.base import ModelDescription
from scorecast.service import claims
from scorecast.service.claims import Claim, ProgressUpdate
from scorecast.store.db import session_scope
from scorecast.store.models import Dataset, DatasetVersion, DataStore, Deployment, Job
from scorecast.store.types import utcnow

log = logging.getLogger("scorecast.worker")

DEFAULT_LEASE_SECONDS = 30.0


@dataclass
class _Running:
    claim: Claim
    thread: threading.Thread | None = None
    abort_requested: bool = False
    lost: bool = False
    last_progress: Progress | None = None


class Worker:
    """Runs jobs from the store in ``slots`` concurrent threads (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        slots: int = 1,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = 0.5,
        worker_id: str | None = None,
    ) -> None:
        if slots < 1:
            raise ValueError("a worker needs at least one slot")
        self.settings = settings
        self.engine = engine
        self.slots = slots
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        for target, name in ((self._claim_loop, "claims"), (self._heartbeat_loop, "heartbeat")):
            thread = threading.Thread(target=target, name=f"scorecast-worker-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("worker %s started with %d job slot(s)", self.worker_id, self.slots)

    def wake(self) -> None:
        """Look for a claimable job now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, stop the running jobs and put them back in the queue."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            running = [r.thread for r in self._running.values() if r.thread is not None]
        for thread in running:
            thread.join(timeout)

    @property
    def running_jobs(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # --- loops ----------------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        while not self._stop.is_set():
            claimed = None
            if len(self.running_jobs) < self.slots:
                try:
                    with session_scope(self.engine, deferred=True) as session:
                        anything = claims.has_claimable_job(session, utcnow())
                    if anything:
                        with session_scope(self.engine, immediate=True) as session:
                            claimed = claims.claim_next_job(
                                session, self.worker_id, utcnow(), self.lease_seconds
                            )
                except Exception:
                    log.exception("claiming a job failed; retrying")
            if claimed is not None:
                self._launch(claimed)
                continue
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _launch(self, claim: Claim) -> None:
        running = _Running(claim)
        thread = threading.Thread(
            target=self._run, args=(running,), name=f"scorecast-job-{claim.job_id}", daemon=True
        )
        running.thread = thread
        with self._lock:
            self._running[claim.job_id] = running
        log.info("job %s: attempt %d claimed by %s", claim.job_id, claim.attempt, self.worker_id)
        thread.start()

    def _heartbeat_loop(self) -> None:
        interval = min(max(self.lease_seconds / 3, 0.2), 2.0)
        while not self._stop.wait(interval):
            with self._lock:
                current = list(self._running.values())
            if not current:
                continue
            try:
                with session_scope(self.engine) as session:
                    owned = claims.heartbeat(
                        session,
                        self.worker_id,
                        [r.claim for r in current],
                        utcnow(),
                        self.lease_seconds,
                    )
            except Exception:
                log.exception("heartbeat failed; retrying")
                continue
            for running in current:
                if running.claim.job_id not in owned:
                    if not running.lost:
                        log.warning("job %s: lease lost; stopping it", running.claim.job_id)
                    running.lost = True
                elif owned[running.claim.job_id]:
                    running.abort_requested = True

    # --- one job --------------------------------------------------------------------------------

    def _run(self, running: _Running) -> None:
        claim = running.claim
        try:
            self._execute(running)
        except Exception:  # never let a job thread die silently
            log.exception("job %s: unexpected error in the worker", claim.job_id)
        finally:
            with self._lock:
                self._running.pop(claim.job_id, None)
            self._wake.set()

    def _execute(self, running: _Running) -> None:
        claim = running.claim
        intake: Intake | None = None
        output: Output | None = None
        try:
            plan = self._plan(claim)
            ctx = self._context(plan, claim)
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
                report=lambda progress: self._report(running, progress),
                should_abort=lambda: self._should_stop(running),
                log=lambda message: self._log(claim, message),
                total_bytes=total,
            )
            if running.lost:
                raise JobFailure("lease lost", abort=True)
            output.commit()
        except BaseException as exc:
            if output is not None:
                _quietly(output.abort)
            self._end_failed(running, exc)
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

    def _end_failed(self, running: _Running, exc: BaseException) -> None:
        claim = running.claim
        if running.lost:
            log.warning("job %s: stopped after losing its lease", claim.job_id)
            return
        now = utcnow()
        if self._stop.is_set() and not running.abort_requested:
            with session_scope(self.engine) as session:
                claims.release_job(session, claim, "the worker shut down", now)
            log.info("job %s: put back in the queue (worker shutting down)", claim.job_id)
            return
        status, message = _failure(exc, running.abort_requested)
        if status == "FAILED" and not isinstance(exc, ScorecastError):
            log.error("job %s failed:\n%s", claim.job_id, "".join(traceback.format_exception(exc)))
        verb = "aborted" if status == "ABORTED" else "failed"
        details = f"Job {verb} at {now:%Y-%m-%d %H:%M:%S}: {message}"
        last = running.last_progress
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
            claims.finish_job(session, claim, status, details, now, progress=progress)
        log.info("job %s: %s", claim.job_id, details)

    def _should_stop(self, running: _Running) -> bool:
        return running.abort_requested or running.lost or self._stop.is_set()

    def _report(self, running: _Running, progress: Progress) -> None:
        running.last_progress = progress
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
                if not claims.report_progress(session, running.claim, update):
                    running.lost = True
                elif claims.abort_requested(session, running.claim.job_id):
                    running.abort_requested = True
        except Exception:
            log.exception("job %s: storing progress failed", running.claim.job_id)

    def _log(self, claim: Claim, message: str) -> None:
        try:
            with session_scope(self.engine) as session:
                claims.append_log(session, claim.job_id, message)
        except Exception:
            log.exception("job %s: storing a log line failed", claim.job_id)

    # --- what a job needs -----------------------------------------------------------------------

    def _plan(self, claim: Claim) -> _Plan:
        with session_scope(self.engine) as session:
            job = session.get(Job, claim.job_id)
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
            return _Plan(
                org_id=job.org_id,
                spec=spec,
                options=options,
                description=ModelDescription.from_dict(deployment.model),
                artifact=artifact_path(self.settings, deployment.artifact_path),
                num_concurrent=max(1, num_concurrent),
                intake_size=job.intake_size,
                scheduled_time=job.scheduled_time.isoformat() if job.scheduled_time else None,
            )

    def _context(self, plan: _Plan, claim: Claim) -> ConnectorContext:
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

        template = {"job_id": claim.job_id, "attempt": str(claim.attempt)}
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


def _failure(exc: BaseException, abort_requested: bool) -> tuple[str, str]:
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
