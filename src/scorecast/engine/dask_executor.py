"""Scoring one job on a Dask cluster: a task per part, the output committed by the job.

Contract of ``run_on_dask`` (the same as ``run_job``'s, so the caller commits or aborts the
output exactly as for a job scored locally):

- Every part of the job's ``Split`` is one task (``dask_tasks.score_part``), submitted at once
  with ``TASK_RETRIES`` retries (a worker that dies, or a task that raises, runs it again);
  the cluster's scheduler decides where and how many run at a time.
- Each task writes its scored rows to the output's part store; this process writes the parts to
  ``output`` in input order as they come in (the output is staged: nothing is visible) and
  removes each once written. It never calls ``output.commit()``: the caller does, once every
  part is in, exactly as after ``run_job``.
- Progress (rows scored and failed, the share of input bytes of the parts done) is reported at
  least once a second; ``should_abort`` is checked at the same times. ``abortOnError`` applies
  the local executor's rule to the parts done so far.
- On any failure or abort the job's tasks are cancelled (``client.cancel``), the job's cancel
  ``Event`` is set (a task already running removes the part it then writes), every part is
  removed, and the error is raised: ``JobFailure`` naming the part and its cause.
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import replace
from pathlib import Path
from typing import Any

from scorecast.connectors.base import Output
from scorecast.connectors.fileio import FileIntake
from scorecast.connectors.part_stores import PartStore
from scorecast.connectors.shipped_context import ShippedContext
from scorecast.domain.job_spec import JobSpec
from scorecast.domain.model_description import ModelDescription
from scorecast.domain.output_names import passthrough_names
from scorecast.domain.scoring_options import ScoringOptions, target_bytes
from scorecast.engine.dask_split import plan_split
from scorecast.engine.dask_tasks import PartJob, PartResult, read_ipc, score_part
from scorecast.engine.runner import (
    ABORT_FAILED_FRACTION,
    ABORT_MIN_FAILED_ROWS,
    PROGRESS_INTERVAL_S,
    JobOutcome,
    Progress,
    csv_column_types,
)
from scorecast.engine.scoring import check_columns
from scorecast.errors import JobFailure, MissingExtra, ScorecastError

#: how often Dask runs a part again after its task failed or its worker died
TASK_RETRIES = 2
#: how long to wait for the scheduler to answer when connecting
CONNECT_TIMEOUT_S = 30
_TICK_S = 0.2


def prepare(
    intake: FileIntake,
    intake_settings: dict[str, Any],
    output_settings: dict[str, Any],
    shipped: ShippedContext,
    *,
    artifact: Path,
    description: ModelDescription,
    spec: JobSpec,
) -> PartJob:
    """The job's parts and what its tasks share: reads the CSV header or the Parquet footer,
    checks the model's columns are there (``JobFailure`` naming them otherwise)."""
    size = intake.size
    if size is None:
        raise JobFailure(f"{intake.location}: the input's size is unknown")
    options, chunk_bytes = ScoringOptions.of(spec), target_bytes(spec.chunk_size)
    with intake.open_stream() as stream:
        split = plan_split(stream, intake.format, intake.csv_settings, size, chunk_bytes)
    if split.parts:
        check_columns(description, options, split.names)
    return PartJob(
        intake_settings=intake_settings,
        output_settings=output_settings,
        shipped=shipped,
        csv_settings=intake.csv_settings,
        fmt=intake.format,
        split=split,
        column_types=(
            csv_column_types(split.names, description, passthrough_names(options, split.names))
            if intake.format != "parquet"
            else None
        ),
        description=description.to_dict(),
        options=options,
        chunk_bytes=chunk_bytes,
        artifact_name=artifact.name,
        artifact=artifact.read_bytes(),
    )


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtra("distributed", "dask") from exc
    return distributed


def run_on_dask(
    address: str,
    job: PartJob,
    output: Output,
    store: PartStore,
    *,
    report: Callable[[Progress], None],
    should_abort: Callable[[], bool],
    log: Callable[[str], None],
    name: str,
) -> JobOutcome:
    """Score ``job``'s parts on the cluster at ``address`` into ``output`` (see the module
    docstring); ``name`` starts the tasks' keys (the job id and attempt: nothing secret)."""
    distributed = _distributed()
    try:
        client = distributed.Client(
            address, timeout=CONNECT_TIMEOUT_S, set_as_default=False, name=name
        )
    except (OSError, TimeoutError) as exc:
        raise JobFailure(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    event_name = f"{name}-cancel-{uuid.uuid4().hex[:8]}"
    job = replace(job, cancel_event=event_name)
    run = _Run(job, output, store, report, should_abort)
    futures: list[Any] = []
    shared: Any = None
    try:
        # a task rather than scattered data: Dask computes it again if its worker dies
        shared = client.submit(_shared, job, key=f"{name}-job", pure=False)
        futures = [
            client.submit(
                score_part, shared, part, key=f"{name}-part-{part.index}", retries=TASK_RETRIES
            )
            for part in job.split.parts
        ]
        workers = len(client.scheduler_info().get("workers", {}))
        log(
            f"scoring on the Dask cluster at {address}: {len(futures)} parts of about "
            f"{job.chunk_bytes} bytes, {workers} worker(s) now"
        )
        run.collect(futures)
    except BaseException:
        _quietly(lambda: report(run.progress()))  # an aborted job shows the rows it got to
        _quietly(lambda: distributed.Event(event_name, client=client).set())
        waiting = len(futures) - len(run.done)
        _quietly(lambda: client.cancel([f for f in [*futures, shared] if f is not None]))
        for part in job.split.parts:
            _quietly(functools.partial(store.remove, part.index))
        log(f"cancelled the job's tasks on the Dask cluster ({waiting} not finished)")
        raise
    finally:
        client.close()
    return run.outcome(f"the Dask cluster at {address} ({len(job.split.parts)} parts)")


def _shared(job: PartJob) -> PartJob:
    """What every task of the job gets (see ``run_on_dask``)."""
    return job


def _quietly(action: Callable[[], None]) -> None:
    # a part left behind is a staging file of the job: a retry or the debris sweep removes it
    with contextlib.suppress(Exception):
        action()


class _Run:
    """The parts done so far, the output written in input order, and the job's progress."""

    def __init__(
        self,
        job: PartJob,
        output: Output,
        store: PartStore,
        report: Callable[[Progress], None],
        should_abort: Callable[[], bool],
    ) -> None:
        self.job, self.output, self.store = job, output, store
        self._report, self._should_abort = report, should_abort
        self.started = time.monotonic()
        self.done: dict[int, PartResult] = {}
        self.written = 0
        self.last_report = 0.0

    def collect(self, futures: list[Any]) -> None:
        self.tick(force=True)
        while self.written < len(futures):
            for index, future in enumerate(futures):
                if index not in self.done and future.done():
                    self.done[index] = self._result(future, index)
                    # forgotten by Dask: a worker lost later does not compute it again
                    future.release()
                    self._check_failures()
            while self.written in self.done:
                self._write(self.done[self.written])
                self.written += 1
            self.tick()
            if self.written < len(futures):
                _wait_one(futures[self.written])
        self.tick(force=True)
        self._check_no_rows()

    def _result(self, future: Any, index: int) -> PartResult:
        try:
            result: PartResult = future.result()
        except CancelledError as exc:  # the scheduler dropped the task
            raise JobFailure(
                f"part {index + 1} was cancelled on the Dask cluster (its scheduler restarted, "
                "or this job's connection to it was lost)"
            ) from exc
        except ScorecastError as exc:
            raise JobFailure(f"part {index + 1} failed: {exc.message}") from exc
        except Exception as exc:
            raise JobFailure(
                f"part {index + 1} failed on the Dask cluster: {type(exc).__name__}: {exc}"
            ) from exc
        return result

    def _write(self, result: PartResult) -> None:
        if result.stored:
            self.output.write(read_ipc(self.store.get(result.index)))
            self.store.remove(result.index)

    def _counts(self) -> tuple[int, int, int]:
        results = self.done.values()
        return (
            sum(r.scored_rows for r in results),
            sum(r.failed_rows for r in results),
            sum(r.input_bytes for r in results),
        )

    def _check_failures(self) -> None:
        if not self.job.options.abort_on_error:
            return
        scored, failed, _ = self._counts()
        processed = scored + failed
        if failed > ABORT_MIN_FAILED_ROWS and failed > ABORT_FAILED_FRACTION * processed:
            raise JobFailure(
                f"aborted on errors: {failed} of {processed} rows could not be scored "
                f"(abortOnError stops a job past {ABORT_MIN_FAILED_ROWS} failed rows and "
                f"{ABORT_FAILED_FRACTION:.0%} of the rows; set abortOnError false to score all)",
                abort=True,
            )

    def _check_no_rows(self) -> None:
        scored, failed, _ = self._counts()
        if self.job.options.abort_on_error and failed and not scored:
            raise JobFailure(
                f"no row could be scored ({failed} failed rows); see prediction_status",
                abort=True,
            )

    def progress(self) -> Progress:
        scored, failed, read = self._counts()
        split = self.job.split
        read += split.data_start if self.done else 0
        elapsed = max(time.monotonic() - self.started, 1e-9)
        fraction = min(read / split.size, 1.0) if split.size else None
        eta = elapsed * (1 - fraction) / fraction if fraction else None
        return Progress(
            rows_scored=scored,
            rows_failed=failed,
            bytes_read=read,
            bytes_written=self.output.bytes_written,
            elapsed_seconds=elapsed,
            rows_per_second=(scored + failed) / elapsed,
            eta_seconds=eta,
            percentage=100.0 * fraction if fraction is not None else None,
        )

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last_report >= PROGRESS_INTERVAL_S - _TICK_S:
            self.last_report = now
            self._report(self.progress())
        if self._should_abort():
            raise JobFailure("the job was aborted", abort=True)

    def outcome(self, mode: str) -> JobOutcome:
        progress = self.progress()
        size = self.job.chunk_bytes
        return JobOutcome(
            rows_scored=progress.rows_scored,
            rows_failed=progress.rows_failed,
            bytes_read=progress.bytes_read,
            bytes_written=self.output.bytes_written,
            elapsed_seconds=progress.elapsed_seconds,
            rows_per_second=progress.rows_per_second,
            chunks=len(self.job.split.parts),
            parallelism=mode,
            chunk_bytes=(size, size),
        )


def _wait_one(future: Any) -> None:
    """Wait up to a tick for ``future`` (the next part in input order) to finish; its result or
    error is read by ``_Run.collect``."""
    with contextlib.suppress(Exception):  # not finished yet, or failed: collect() reads it
        future.result(timeout=_TICK_S)
