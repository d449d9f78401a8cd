"""One claimed job, run to its end inside a job process (``scorecast.runtime.job_process``).

``JobRun.execute``: the job's plan (spec, deployment) → the operator's rule on models that run
code when loaded (``service.trusted_models``) → intake and output from the connector
registry → ``engine.run_job`` → ``output.commit()`` → the job ``COMPLETED``. Any failure aborts the
output (nothing half-written is ever presented) and ends the job ``ABORTED`` (user abort,
``abortOnError``) or ``FAILED`` (everything else) with a message.

Exactly once: the output is opened with the job's ``OutputToken``; an attempt after the first
asks the output whether an earlier attempt already committed (the previous one may have died,
or lost the store, between its commit and its status update) and, if so, ends the job
``COMPLETED`` without reading or writing a row.

The worker that claimed the job keeps its lease alive and tells this run, through ``signals``,
when to stop early: ``"abort"`` (a user asked), ``"lost"`` (another worker took the job over:
stop without writing anything to the store) or ``"shutdown"`` (the service stops: the job goes
back to the queue). Each progress report (at least once a second) also answers whether the
job was aborted or its lease lost. Everything the run reads from or writes to the store goes
through its ``JobLedger`` (``job_ledger``): in a job process, the worker's store on the other
end of their connection; a worker that is gone counts as a lost lease.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.connectors import registry
from scorecast.connectors.base import ConnectorContext, Intake, Output, OutputToken
from scorecast.connectors.storage import BlobMissing
from scorecast.connectors.storage.cache import local_copy
from scorecast.domain.job_claim import Claim, ProgressUpdate
from scorecast.domain.location_templates import run_values
from scorecast.engine import Progress, run_job
from scorecast.errors import JobFailure, OutputAlreadyCommitted, ScorecastError
from scorecast.runtime import dask_jobs, fault_points
from scorecast.runtime.job_ledger import JobLedger, JobPlan
from scorecast.runtime.outage_log import OutageLog
from scorecast.service.trusted_models import check_may_score

log = logging.getLogger("scorecast.worker")

#: a committed job retries storing its completion this often while the store is unreachable
FINISH_RETRY_SECONDS = 1.0


class JobRun:
    """Runs ``claim``'s job once; ``signals()`` returns the worker's signals received so far."""

    def __init__(
        self,
        settings: Settings,
        ledger: JobLedger,
        claim: Claim,
        signals: Callable[[], set[str]],
    ) -> None:
        self.settings, self.ledger, self.claim = settings, ledger, claim
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
            plan = self.ledger.plan()
            check_may_score(self.settings, plan.description)
            ctx = self._context(plan)
            intake = registry.open_intake(
                plan.spec["intakeSettings"], ctx, plan.options.csv_settings
            )
            output = registry.open_output(
                plan.spec["outputSettings"], ctx, plan.options.csv_settings
            )
            earlier = None
            if claim.attempt > 1:  # an earlier attempt may have died after or before its commit
                _quietly(output.remove_debris)
                earlier = output.committed_before()
            if earlier is not None:
                _quietly(output.abort)
                self._finish_committed_before(earlier)
                return
            total = getattr(intake, "size", None) or plan.intake_size
            score = run_job
            if self.settings.dask_address:  # a Dask cluster scores the jobs that can be split
                score = dask_jobs.scorer(self.settings, plan, ctx, self.ledger.log)
            outcome = score(
                intake,
                output,
                artifact=_artifact_file(self.settings, plan.artifact),
                description=plan.description,
                options=plan.options,
                num_concurrent=plan.num_concurrent,
                chunk_size=plan.options.chunk_size,
                report=self._report,
                should_abort=self._should_stop,
                log=self.ledger.log,
                total_bytes=total,
            )
            self._should_stop()
            if self.lost:  # another worker owns the job now: its output must win
                raise JobFailure("lease lost", abort=True)
            output.commit()
        except OutputAlreadyCommitted as exc:  # an attempt racing this one committed first
            if output is not None:
                _quietly(output.abort)
            self._finish_committed_before(exc.earlier)
            return
        except BaseException as exc:
            if output is not None:
                _quietly(output.abort)
            self._end_failed(exc)
            return
        finally:
            if intake is not None:
                _quietly(intake.close)
        fault_points.after_output_commit(claim.attempt)
        summary = (
            f"{outcome.rows_scored} rows scored, {outcome.rows_failed} failed, in "
            f"{outcome.elapsed_seconds:.1f} s ({outcome.rows_per_second:,.0f} rows/s)"
        )
        progress = ProgressUpdate(
            percentage=100.0,
            scored_rows=outcome.rows_scored,
            failed_rows=outcome.rows_failed,
            intake_size=outcome.bytes_read or None,
            output_size=outcome.bytes_written,
            rows_per_second=outcome.rows_per_second,
        )
        done = self._store_completion(summary, progress)
        log.info("job %s: %s", claim.job_id, summary if done else "finished after losing its lease")

    def _finish_committed_before(self, earlier: str) -> None:
        summary = f"the output was already committed by {earlier}; nothing was written again"
        self.ledger.log(f"Attempt {self.claim.attempt}: {summary}")
        done = self._store_completion(summary, ProgressUpdate(percentage=100.0))
        log.info("job %s: %s", self.claim.job_id, summary if done else "lost its lease")

    def _store_completion(self, summary: str, progress: ProgressUpdate) -> bool:
        """``finish`` for a committed output, retried while the store cannot be reached: the
        job must not end FAILED for a store outage after its output committed. Gives up (False)
        once the lease is lost or the service stops: the next attempt then finds the commit."""
        outage = OutageLog(log, f"job {self.claim.job_id}: storing its completion")
        while True:
            try:
                done = self.ledger.finish(summary, progress)
            except JobFailure:  # the worker is gone (WorkerGone), or the job was deleted
                raise
            except Exception as exc:
                outage.failed(exc)
            else:
                outage.succeeded()
                return done
            self._should_stop()
            if self.lost or self.shutdown:
                return False
            time.sleep(FINISH_RETRY_SECONDS)

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
        if self.shutdown and not self.abort_requested:
            self.ledger.release("the worker shut down")
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
        self.ledger.fail(status, message, progress)
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
        state = self.ledger.report(update)
        self.lost |= "lost" in state
        self.abort_requested |= "abort" in state

    # --- what a job needs -----------------------------------------------------------------------

    def _context(self, plan: JobPlan) -> ConnectorContext:
        created = (
            datetime.fromisoformat(plan.created_time) if plan.created_time else datetime.now(UTC)
        )
        scheduled = datetime.fromisoformat(plan.scheduled_time) if plan.scheduled_time else None
        template = run_values(self.claim.job_id, self.claim.attempt, created, scheduled)
        return ConnectorContext(
            credential=self.ledger.credential,
            data_store=self.ledger.data_store,
            dataset_path=self.ledger.dataset_path,
            app_settings=self.settings,
            template=template,
            ambient_identity=plan.ambient_identity,
            output_token=OutputToken(self.claim.job_id, self.claim.attempt),
        )


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


def _artifact_file(settings: Settings, artifact: str) -> Path:
    """The model's local file: an absolute path as it is, else the stored key's local copy."""
    if Path(artifact).is_absolute():
        return Path(artifact)
    try:
        path = local_copy(settings, artifact)
    except BlobMissing as exc:
        raise JobFailure("the deployment's model file is missing from the storage") from exc
    with contextlib.suppress(BlobMissing):  # its prepared form, verified before use
        local_copy(settings, artifact + home_layout.PREPARED_SUFFIX)
    return path
