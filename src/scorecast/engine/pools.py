"""Where a job's chunks are scored: this thread, a pool of threads, or worker processes.

Parallelism is chosen per model (``ModelDescription.parallelism``): models whose scoring leaves
Python's GIL free (LightGBM, XGBoost, ONNX, scikit-learn's linear and HistGradientBoosting
models behind vectorized steps: see ``predictors.sklearn_parallelism``) run in threads of the
job's process, which hold the libraries and the model once; other models run in worker
processes, each holding the model once. Either way, each of the ``numConcurrent`` scorers gets
its share of the cores for native threads (OpenMP, BLAS), so that they do not oversubscribe
them. A worker process is forked from the job's process when that is safe (a job process with
one thread: ``use_fork_for_workers``), so it shares the loaded model and starts at once;
otherwise it comes from a ``forkserver`` with the heavy imports preloaded and gets the model
pickled.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib.util
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pyarrow as pa

from scorecast.domain.model_description import ModelDescription
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine.scoring import ScoredChunk, score_chunk
from scorecast.errors import JobFailure, ScorecastError
from scorecast.formats import decode_csv_block
from scorecast.formats.chunks import Chunk, CsvBlock
from scorecast.predictors.registry import load_predictor

#: modules the fork server imports once, so that each job's workers start without importing
_PRELOAD = (
    "scorecast.engine.pools",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.linear_model",
)
_context: Any = None
_may_fork = False


def use_fork_for_workers() -> None:
    """Let worker processes start with ``fork`` (for a job process, which runs jobs only): they
    then share its imports and loaded model, and start at once."""
    global _may_fork  # noqa: PLW0603 - one start method per process
    _may_fork = True


def _worker_context() -> Any:
    """``fork`` when allowed and this process has a single thread (forking a multi-threaded
    process can copy a lock some other thread holds), else a ``forkserver`` with the heavy
    imports preloaded, started once per process."""
    global _context  # noqa: PLW0603 - one fork server per process
    if _may_fork and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(
            [m for m in _PRELOAD if importlib.util.find_spec(m.split(".")[0]) is not None]
        )
    return _context


def score_one(
    predictor: Any,
    description: ModelDescription,
    options: ScoringOptions,
    chunk: Chunk,
    column_types: dict[str, pa.DataType] | None,
) -> ScoredChunk:
    """Decode (a CSV block) and score one chunk, timing it for the dynamic chunk size."""
    started, nbytes = time.perf_counter(), chunk.nbytes
    from_csv = isinstance(chunk, CsvBlock)
    if isinstance(chunk, CsvBlock):
        chunk = decode_csv_block(replace(chunk, column_types=column_types))
    scored = score_chunk(predictor, description, options, chunk, from_csv=from_csv)
    return replace(scored, input_bytes=nbytes, seconds=time.perf_counter() - started)


def start_pool(
    predictor: Any,
    description: ModelDescription,
    options: ScoringOptions,
    artifact: Path,
    workers: int,
) -> tuple[cf.Executor | None, cf.Future[bool] | None, str]:
    """(pool, future done once worker processes are ready, description) for ``workers``.

    No pool for one worker (score in this thread). With processes, the caller scores too (it
    would otherwise only wait), so ``workers - 1`` worker processes are started.
    """
    if workers <= 1:
        return None, None, "one process"
    threads = native_threads_per_process(workers)
    restore = limit_native_threads(threads)  # in this process, until the pool shuts down
    if description.parallelism == "threads":
        # OpenMP's thread count is a setting of each calling thread: each scoring thread
        # caps its own (100-tree HistGradientBoosting, 1M rows, 2 threads: 10.3 s uncapped,
        # each thread's OpenMP using both cores; 8.1 s capped at one each)
        pool = _ThreadPool(
            restore,
            workers,
            thread_name_prefix="scorecast-score",
            initializer=limit_native_threads,
            initargs=(threads,),
        )
        return pool, None, f"{workers} threads, {threads} native thread(s) each"
    context = _worker_context()
    shipped: Any = predictor  # a forked worker inherits it
    if context.get_start_method() != "fork":
        try:
            shipped = pickle.dumps(predictor)
        except Exception:  # a model that cannot be pickled is loaded again by each worker
            shipped = None
    processes = _ProcessPool(
        restore,
        workers - 1,
        mp_context=context,
        initializer=_init_worker,
        initargs=(shipped, str(artifact), description.to_dict(), options, threads),
    )
    ready = processes.submit(_ready)
    return (
        processes,
        ready,
        (f"this process and {workers - 1} worker process(es), {threads} native thread(s) each"),
    )


class _RestoresThreadCap(cf.Executor):
    """A pool that undoes this process's native-thread cap when it shuts down."""

    def __init__(self, restore: Callable[[], None], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._restore = restore

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
        finally:
            self._restore()


class _ProcessPool(_RestoresThreadCap, cf.ProcessPoolExecutor):
    pass


class _ThreadPool(_RestoresThreadCap, cf.ThreadPoolExecutor):
    pass


def native_threads_per_process(workers: int) -> int:
    """Native threads (OpenMP, BLAS) each of ``workers`` scorers (processes or threads) may use:
    the cores shared out, so that they do not oversubscribe them (a 100-tree HistGradientBoosting
    model, 1M rows, 2 processes: 4.7 s with 1 OpenMP thread each, 8.8 s with 2 each)."""
    return max(1, (os.cpu_count() or 1) // workers)


def limit_native_threads(count: int) -> Callable[[], None]:
    """Cap this process's OpenMP and BLAS thread pools at ``count``; returns the undo."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # only comes with scikit-learn, whose models are what it is for
        return lambda: None
    limiter = threadpool_limits(limits=count)
    return cast(Callable[[], None], limiter.restore_original_limits)


def submit(
    executor: cf.Executor,
    chunk: Chunk,
    *,
    predictor: Any,
    description: ModelDescription,
    options: ScoringOptions,
    column_types: dict[str, pa.DataType] | None,
) -> cf.Future[ScoredChunk]:
    """Score ``chunk`` in ``executor`` (a worker process uses the model it holds)."""
    if isinstance(executor, cf.ProcessPoolExecutor):
        return executor.submit(_score_in_worker, chunk, column_types)
    # handed over in a box the thread empties: a CSV block's bytes are freed once decoded
    box = [chunk]
    return executor.submit(
        lambda: score_one(predictor, description, options, box.pop(), column_types)
    )


def pool_started(ready: cf.Future[bool]) -> None:
    """Raise ``JobFailure`` when the worker processes could not start or load the model."""
    try:
        ready.result()
    except ScorecastError:
        raise
    except Exception as exc:
        raise JobFailure(
            f"the scoring worker processes could not start: {type(exc).__name__}: {exc}"
        ) from exc


# --- inside a worker process ------------------------------------------------------------------

_worker_state: dict[str, Any] = {}


def _init_worker(
    predictor: Any,
    artifact: str,
    description: dict[str, Any],
    options: ScoringOptions,
    threads: int,
) -> None:
    """Set up a worker once: the job process's loaded model (inherited through ``fork``, or
    pickled as bytes), or, when it could not be shipped (None), loaded from the artifact.

    A pickle was made by the job's own process from a model it loaded itself (through the
    format's safe loader), so unpickling it runs no code from the user's artifact.
    """
    parsed = ModelDescription.from_dict(description)
    if isinstance(predictor, bytes):
        loaded = pickle.loads(predictor)
    else:
        loaded = predictor if predictor is not None else load_predictor(Path(artifact), parsed)
    limit_native_threads(threads)  # once the model's native libraries are loaded
    _worker_state.update(predictor=loaded, description=parsed, options=options)


def _score_in_worker(chunk: Chunk, column_types: dict[str, pa.DataType] | None) -> ScoredChunk:
    return score_one(
        _worker_state["predictor"],
        _worker_state["description"],
        _worker_state["options"],
        chunk,
        column_types,
    )


def _ready() -> bool:
    return True
