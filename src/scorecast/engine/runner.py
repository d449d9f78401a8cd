"""Running one job: intake → chunks scored in parallel → output in input order.

Contract of ``run_job``:

- It streams the intake's chunks, scores up to ``numConcurrent`` of them at once and writes
  the output batches in input order. It never calls ``output.commit()`` or ``output.abort()``
  nor ``intake.close()``: the caller (the service's worker) commits when ``run_job`` returns a
  ``JobOutcome`` and aborts when it raises. That keeps "visible only when complete" in one place.
- Memory: at most ``num_concurrent`` chunks are in flight (read, being scored, or scored and
  waiting for their turn to be written), plus the one being read, whatever the input size;
  nothing here holds a chunk once it is handed over (in threads, a CSV chunk's bytes are freed
  as soon as it is decoded).
- Parallelism is chosen per model (``engine.pools``): models that use one core per call
  (linear pipelines) run in this process and ``num_concurrent - 1`` worker processes, each
  holding the model once; models that already use every core (tree ensembles, ONNX) run in
  ``num_concurrent`` threads of this process. A job whose input is a single chunk (or, when
  its size is known, at most ``SMALL_INPUT_CHUNKS`` chunks) is scored in this process without
  any pool.
- Progress is reported at least once a second and once at the end; ``should_abort`` is checked
  at the same times, and an abort takes effect before the next chunk is written
  (``JobFailure(abort=True)``).
- ``abortOnError`` (default true): the job is ABORTED once more than ``ABORT_MIN_FAILED_ROWS``
  rows have failed and they are more than ``ABORT_FAILED_FRACTION`` of the rows processed so
  far, or at the end when no row at all could be scored. With ``abortOnError`` false every row
  is processed and failures are only counted.
- Missing feature columns fail the job at the first chunk, with a message naming them; so does
  an output that would hold two columns of one name (``output_columns.check_output_names``:
  a passthrough column named like a prediction column, or a remapping onto a taken name),
  before any output is written.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from scorecast.connectors.base import Intake, Output
from scorecast.domain.chunk_sizing import ChunkSizer, ChunkSizing
from scorecast.domain.job_spec import ChunkSize, JobSpec
from scorecast.domain.model_description import ModelDescription
from scorecast.domain.output_names import passthrough_names
from scorecast.domain.scoring_options import ScoringOptions, target_bytes
from scorecast.engine import pools
from scorecast.engine.scoring import ScoredChunk, check_columns, score_chunk
from scorecast.errors import InvalidInput, JobFailure, ScorecastError
from scorecast.formats import parse_header
from scorecast.formats.chunks import Chunk, ChunkBytes, CsvBlock
from scorecast.predictors.registry import load_predictor

#: abortOnError: the job aborts when failed rows exceed this count ...
ABORT_MIN_FAILED_ROWS = 100
#: ... and this fraction of the rows processed so far
ABORT_FAILED_FRACTION = 0.01
PROGRESS_INTERVAL_S = 1.0
#: an input of at most this many chunks (when its size is known) is scored in one process
SMALL_INPUT_CHUNKS = 2
_TICK_S = 0.2


@dataclass(frozen=True)
class Progress:
    """A job's progress; ``eta_seconds`` needs ``total_bytes`` (None when unknown)."""

    rows_scored: int
    rows_failed: int
    bytes_read: int
    bytes_written: int
    elapsed_seconds: float
    rows_per_second: float
    eta_seconds: float | None
    percentage: float | None


@dataclass(frozen=True)
class JobOutcome:
    """What a job did, once every row is written (the output is not committed yet)."""

    rows_scored: int
    rows_failed: int
    bytes_read: int
    bytes_written: int
    elapsed_seconds: float
    rows_per_second: float
    chunks: int
    parallelism: str
    #: (smallest, largest) chunk size asked of the intake, in bytes; they differ when dynamic
    chunk_bytes: tuple[int, int] = (0, 0)


# --- job side ---------------------------------------------------------------------------------


def csv_column_types(
    names: list[str], description: ModelDescription, passthrough: Collection[str]
) -> dict[str, pa.DataType]:
    """Types every CSV chunk of a job is decoded with, so that all chunks agree.

    Numeric features are float64, unless they are also ``passthrough`` columns: those, the
    categorical features and every other column are text, kept exactly as in the input (the
    model reads a text column's missing values as ``engine.scoring`` says).
    """
    copied = set(passthrough)
    declared = {
        f.name: pa.float64() if f.type == "numeric" and f.name not in copied else pa.string()
        for f in description.features
    }
    return {name: declared.get(name, pa.string()) for name in names}


class _Tally:
    def __init__(self, intake: Intake, output: Output, total_bytes: int | None) -> None:
        self.intake, self.output, self.total_bytes = intake, output, total_bytes
        self.started = time.monotonic()
        self.scored = self.failed = self.chunks = 0

    def progress(self) -> Progress:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rows = self.scored + self.failed
        read = self.intake.bytes_read
        eta = percentage = None
        if self.total_bytes:
            fraction = min(read / self.total_bytes, 1.0)
            percentage = 100.0 * fraction
            if fraction > 0:
                eta = elapsed * (1 - fraction) / fraction
        return Progress(
            rows_scored=self.scored,
            rows_failed=self.failed,
            bytes_read=read,
            bytes_written=self.output.bytes_written,
            elapsed_seconds=elapsed,
            rows_per_second=rows / elapsed,
            eta_seconds=eta,
            percentage=percentage,
        )


def _column_names(chunk: Chunk) -> list[str]:
    if isinstance(chunk, CsvBlock):
        return parse_header(chunk.header, chunk.settings)
    return list(chunk.schema.names)


def _note_keys_without_effect(spec: JobSpec, log: Callable[[str], None]) -> None:
    """Log the DataRobot job spec keys the job carries that this server accepts (so that a
    DataRobot spec runs unchanged) but does not act on, so that none is ignored silently."""
    given = sorted(spec.opaque)
    if spec.max_ngram_explanations is not None:
        given.append("maxNgramExplanations")
    if given:
        log(
            f"{', '.join(given)}: accepted for compatibility with DataRobot, no effect on this "
            "server (see the DataRobot differences in the docs)"
        )


def _note_unmet_prediction_warnings(
    options: ScoringOptions, description: ModelDescription, log: Callable[[str], None]
) -> None:
    """Log why a job that asked for prediction warnings gets no ``IS_OUTLIER_PREDICTION``."""
    if not options.prediction_warning_enabled:
        return
    if description.target_type != "regression":
        log(
            "predictionWarningEnabled: no IS_OUTLIER_PREDICTION column, because prediction "
            f"warnings are for regression deployments and this one is {description.target_type}"
        )
    elif description.prediction_range is None:
        log(
            "predictionWarningEnabled: no IS_OUTLIER_PREDICTION column, because the "
            "deployment's prediction warnings are off or it has no prediction range (give "
            "one at registration, or enable them with boundaries in the deployment's settings)"
        )


def run_job(
    spec: JobSpec,
    intake: Intake,
    output: Output,
    *,
    artifact: Path,
    description: ModelDescription,
    report: Callable[[Progress], None],
    should_abort: Callable[[], bool],
    log: Callable[[str], None],
    total_bytes: int | None = None,
    chunk_sizing: ChunkSizing | None = None,
) -> JobOutcome:
    """Score the whole intake into ``output`` as ``spec`` asks (see the module docstring for
    the contract): its scoring options, ``numConcurrent`` and ``chunkSize``.

    ``chunkSize`` ``"dynamic"`` sizes each chunk by ``chunk_sizing`` (the service's
    ``ChunkSizing()`` when None) from the measured scoring time of the chunks before it.

    Raises ``JobFailure`` (``abort=True`` for a user abort or abortOnError), ``ConnectorError``
    from the intake or output, ``MissingExtra``/``ModelLoadError`` when the model cannot load.
    """
    options = ScoringOptions.of(spec)
    tally = _Tally(intake, output, total_bytes)
    last_report = [time.monotonic()]

    def tick(force: bool = False) -> None:
        now = time.monotonic()
        if force or now - last_report[0] >= PROGRESS_INTERVAL_S - _TICK_S:
            last_report[0] = now
            report(tally.progress())
        if should_abort():
            raise JobFailure("the job was aborted", abort=True)

    _note_unmet_prediction_warnings(options, description, log)
    _note_keys_without_effect(spec, log)
    sizer, sizes, first_bytes = _chunk_sizes(spec.chunk_size, chunk_sizing)
    intake.waiting = tick  # an intake waiting for rows still reports progress and sees aborts
    chunks = iter(intake.chunks(sizes))
    first = _next(chunks)
    if first is None:
        _score_header_only(
            intake, output, artifact=artifact, description=description, options=options, log=log
        )
        tick(force=True)
        return _outcome(tally, "none", sizer, first_bytes)
    try:
        names = _column_names(first)
    except InvalidInput as exc:
        raise JobFailure(f"the input cannot be read as CSV: {exc.message}") from exc
    check_columns(description, options, names)
    second = _next(chunks)
    job = _Job(
        description=description,
        options=options,
        column_types=(
            csv_column_types(names, description, passthrough_names(options, names))
            if isinstance(first, CsvBlock)
            else None
        ),
        tally=tally,
        tick=tick,
        sizer=sizer,
    )
    small = total_bytes is not None and total_bytes <= SMALL_INPUT_CHUNKS * first_bytes
    workers = 1 if second is None or small else spec.num_concurrent
    # from here on only the queue holds the first chunks: each is freed once scored
    queue = _chain([first] if second is None else [first, second], chunks)
    del first, second
    executor, mode = _executor(job, artifact, workers)
    log(f"scoring with {mode}, {_describe_sizes(sizer, first_bytes)}")
    try:
        _pump(queue, executor, job, workers)
    except JobFailure:
        report(tally.progress())  # an aborted job shows the rows it got to (and failed)
        raise
    finally:
        if executor is not None:
            # workers still starting up have nothing left to do: do not wait for them
            started = job.pool_ready is None or job.pool_ready.done()
            executor.shutdown(wait=started, cancel_futures=True)
    tick(force=True)
    if options.abort_on_error and tally.failed and not tally.scored:
        raise JobFailure(
            f"no row could be scored ({tally.failed} failed rows); see prediction_status",
            abort=True,
        )
    if tally.failed:
        log(f"{tally.failed} rows could not be scored")
    if sizer is not None:
        log(_sizes_seen(sizer))
    return _outcome(tally, mode, sizer, first_bytes)


def _score_header_only(
    intake: Intake,
    output: Output,
    *,
    artifact: Path,
    description: ModelDescription,
    options: ScoringOptions,
    log: Callable[[str], None],
) -> None:
    """An input without rows: FAILED when it has no header either, else a header-only output."""
    header = intake.header()
    if header is None:
        raise JobFailure("the input is empty: it has no header line and no rows")
    check_columns(description, options, header)
    log("the input has a header but no rows; the output has no rows")
    empty = pa.RecordBatch.from_pylist([], schema=pa.schema([(n, pa.string()) for n in header]))
    predictor = load_predictor(artifact, description)
    output.write(score_chunk(predictor, description, options, empty).batch)


def _chunk_sizes(
    chunk_size: ChunkSize, chunk_sizing: ChunkSizing | None
) -> tuple[ChunkSizer | None, ChunkBytes, int]:
    """(the dynamic sizer or None, what the intake is asked with, the first chunks' size)."""
    if chunk_size == "dynamic":
        sizer = ChunkSizer(chunk_sizing)
        return sizer, sizer.next_bytes, sizer.policy.start_bytes
    return None, target_bytes(chunk_size), target_bytes(chunk_size)


def _sizes_seen(sizer: ChunkSizer) -> str:
    return (
        f"dynamic chunk size: {sizer.smallest} to {sizer.largest} bytes, the last "
        f"{sizer.size} (scoring at about {(sizer.rate or 0) / 1e6:.1f} MB/s per chunk)"
    )


def _describe_sizes(sizer: ChunkSizer | None, fixed_bytes: int) -> str:
    if sizer is None:
        return f"chunks of about {fixed_bytes} bytes"
    policy = sizer.policy
    return (
        f"chunks sized to score in about {policy.target_seconds:g} s each (dynamic: from "
        f"{policy.start_bytes} bytes, between {policy.min_bytes} and {policy.max_bytes})"
    )


@dataclass
class _Job:
    description: ModelDescription
    options: ScoringOptions
    column_types: dict[str, pa.DataType] | None
    tally: _Tally
    tick: Callable[..., None]
    predictor: Any = None
    #: done once the worker processes have started and loaded the model
    pool_ready: cf.Future[bool] | None = None
    #: a dynamic chunk size, told how long each written chunk took to score
    sizer: ChunkSizer | None = None


def _executor(job: _Job, artifact: Path, workers: int) -> tuple[cf.Executor | None, str]:
    """Load the model in this process and start the pool chunks run in (``pools.start_pool``);
    while worker processes start up, this process scores the first chunks itself."""
    job.predictor = load_predictor(artifact, job.description)
    executor, job.pool_ready, mode = pools.start_pool(
        job.predictor, job.description, job.options, artifact, workers
    )
    return executor, mode


def _pump(queue: Iterator[Chunk], executor: cf.Executor | None, job: _Job, workers: int) -> None:
    """Score every chunk of ``queue`` and write the results in input order.

    ``pending`` holds one future per chunk, oldest first; at most ``2 * workers`` chunks are
    held at once. With a process pool this process scores a chunk itself whenever the pool
    is busy, and every chunk until the pool has started (so a slow start costs nothing).
    """
    pending: deque[cf.Future[ScoredChunk]] = deque()
    in_pool: set[cf.Future[ScoredChunk]] = set()
    processes = isinstance(executor, cf.ProcessPoolExecutor)
    pool_slots = 2 * (workers - 1) if processes else workers  # a queued chunk per worker
    exhausted = False

    def take() -> Chunk | None:
        nonlocal exhausted
        chunk = None if exhausted else _next(queue)
        exhausted = chunk is None
        return chunk

    while True:
        in_pool = {f for f in in_pool if not f.done()}
        pool_open = job.pool_ready is None or job.pool_ready.done()
        while executor and pool_open and len(in_pool) < pool_slots and len(pending) < 2 * workers:
            chunk = take()
            if chunk is None:
                break
            future = pools.submit(
                executor,
                chunk,
                predictor=job.predictor,
                description=job.description,
                options=job.options,
                column_types=job.column_types,
            )
            del chunk  # the pool holds it only until it is decoded
            pending.append(future)
            in_pool.add(future)
        if pending and pending[0].done():
            _write(job, _result(pending.popleft(), job.tally.chunks))
            continue
        if job.pool_ready is not None and job.pool_ready.done():
            pools.pool_started(job.pool_ready)
        if (executor is None or processes) and len(pending) < 2 * workers:
            chunk = take()
            if chunk is not None:
                pending.append(_score_here(job, chunk))
                del chunk
                continue
        if not pending:
            return
        cf.wait([pending[0]], timeout=_TICK_S)
        job.tick()


def _score_here(job: _Job, chunk: Chunk) -> cf.Future[ScoredChunk]:
    """Score a chunk in this thread; the result (or its error) as a finished future."""
    future: cf.Future[ScoredChunk] = cf.Future()
    try:
        future.set_result(
            pools.score_one(job.predictor, job.description, job.options, chunk, job.column_types)
        )
    except Exception as exc:
        future.set_exception(exc)
    return future


def _write(job: _Job, result: ScoredChunk) -> None:
    if job.sizer is not None:
        job.sizer.observe(result.input_bytes, result.seconds)
    job.tally.output.write(result.batch)
    job.tally.chunks += 1
    job.tally.scored += result.scored_rows
    job.tally.failed += result.failed_rows
    _check_failures(job.options, job.tally)
    job.tick()


def _result(future: cf.Future[ScoredChunk], index: int) -> ScoredChunk:
    try:
        return future.result()
    except ScorecastError:
        raise
    except cf.process.BrokenProcessPool as exc:
        raise JobFailure(
            "a scoring worker process died (out of memory, or killed); the job cannot go on"
        ) from exc
    except Exception as exc:
        raise JobFailure(f"scoring chunk {index + 1} failed: {type(exc).__name__}: {exc}") from exc


def _check_failures(options: ScoringOptions, tally: _Tally) -> None:
    if not options.abort_on_error:
        return
    processed = tally.scored + tally.failed
    if tally.failed > ABORT_MIN_FAILED_ROWS and tally.failed > ABORT_FAILED_FRACTION * processed:
        raise JobFailure(
            f"aborted on errors: {tally.failed} of {processed} rows could not be scored "
            f"(abortOnError stops a job past {ABORT_MIN_FAILED_ROWS} failed rows and "
            f"{ABORT_FAILED_FRACTION:.0%} of the rows; set abortOnError false to score all)",
            abort=True,
        )


def _next(chunks: Iterator[Chunk]) -> Chunk | None:
    return next(chunks, None)


def _chain(head: list[Chunk], rest: Iterator[Chunk]) -> Iterator[Chunk]:
    """``head``'s chunks, then ``rest``'s (when ``head`` held two: one chunk means the input
    ended), holding none of them once given out."""
    more = len(head) > 1
    while head:
        yield head.pop(0)
    if more:
        yield from rest


def _outcome(tally: _Tally, mode: str, sizer: ChunkSizer | None, fixed_bytes: int) -> JobOutcome:
    progress = tally.progress()
    return JobOutcome(
        rows_scored=tally.scored,
        rows_failed=tally.failed,
        bytes_read=progress.bytes_read,
        bytes_written=tally.output.bytes_written,
        elapsed_seconds=progress.elapsed_seconds,
        rows_per_second=progress.rows_per_second,
        chunks=tally.chunks,
        parallelism=mode,
        chunk_bytes=(sizer.smallest, sizer.largest) if sizer else (fixed_bytes, fixed_bytes),
    )
