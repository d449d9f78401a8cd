"""What runs on a Dask worker: one part of a job, read, scored and left at the output.

``score_part(job, part)`` opens the job's intake from its settings (``ShippedContext``: the
credentials travel with the task data, never in its key or its ``repr``), reads the part's byte
range or row groups, scores them with the deployment's model (loaded once per worker process
and model, from the artifact's bytes shipped with the job), and writes the scored rows as an
Arrow IPC stream to the output's part store (``connectors.part_stores``). It returns the
part's counts; the job's process writes the parts to the output in input order and commits.

A task that writes its part after the job was cancelled (it was already running) sees the
job's cancel ``Event`` and removes its part again.

Fault injection (tests only; nothing happens unless the variable is set in the Dask worker's
environment): ``SCORECAST_FAULT_KILL_DASK_WORKER_ONCE=<file>``: the first task that removes
``<file>`` ends its worker process at once (as the out-of-memory killer would), so that a test
sees Dask run the part again elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from scorecast.connectors import registry
from scorecast.connectors.fileio import FileIntake
from scorecast.connectors.part_stores import PartStore, open_part_store
from scorecast.connectors.shipped_context import ShippedContext
from scorecast.domain.model_description import ModelDescription
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import pools
from scorecast.engine.dask_split import PartRange, Split, read_csv_range
from scorecast.errors import ConnectorError
from scorecast.formats.chunks import Chunk
from scorecast.predictors.registry import load_predictor


@dataclass(frozen=True, repr=False)
class PartJob:
    """Everything the tasks of one job share (scattered to the cluster once)."""

    intake_settings: Mapping[str, Any]
    output_settings: Mapping[str, Any]
    shipped: ShippedContext
    csv_settings: Any  # CsvSettings
    fmt: str
    split: Split
    column_types: dict[str, pa.DataType] | None
    description: dict[str, Any]
    options: ScoringOptions
    artifact_name: str
    artifact: bytes = field(repr=False)
    #: the name of the job's cancel ``distributed.Event``
    cancel_event: str = ""

    @property
    def model_key(self) -> str:
        """The model's identity on a worker: its artifact and its description."""
        digest = hashlib.sha256(self.artifact)
        digest.update(json.dumps(self.description, sort_keys=True, default=str).encode())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"PartJob({self.fmt}, {len(self.split.parts)} parts)"


@dataclass(frozen=True)
class PartResult:
    """What one task did: its rows (scored and failed), input bytes and seconds spent."""

    index: int
    scored_rows: int
    failed_rows: int
    input_bytes: int
    seconds: float
    #: False for a part without rows (nothing was stored)
    stored: bool = True


_models: dict[str, Any] = {}
_model_folders: dict[str, Path] = {}
_models_lock = threading.Lock()


KILL_WORKER_ONCE = "SCORECAST_FAULT_KILL_DASK_WORKER_ONCE"


def score_part(job: PartJob, part: PartRange) -> PartResult:
    """Read, score and store ``part`` of ``job`` (see the module docstring)."""
    _fault_kill_worker_once()
    started = time.perf_counter()
    ctx = job.shipped.context()
    store = open_part_store(job.output_settings, ctx)
    if store is None:
        raise ConnectorError("the job's output cannot hold parts")
    chunk = _read(job, part, ctx)
    if chunk is None:
        return PartResult(part.index, 0, 0, part.nbytes, time.perf_counter() - started, False)
    description = ModelDescription.from_dict(job.description)
    predictor = _predictor(job, description)
    scored = pools.score_one(predictor, description, job.options, chunk, job.column_types)
    store.put(part.index, write_ipc(scored.batch))
    _withdraw_if_cancelled(job, store, part.index)
    return PartResult(
        part.index,
        scored.scored_rows,
        scored.failed_rows,
        part.nbytes or scored.input_bytes,
        time.perf_counter() - started,
    )


def _read(job: PartJob, part: PartRange, ctx: Any) -> Chunk | None:
    intake = registry.open_intake(job.intake_settings, ctx, job.csv_settings)
    if not isinstance(intake, FileIntake):
        raise ConnectorError(f"{intake.location}: this intake cannot be read by parts")
    try:
        with intake.open_stream() as stream:
            if job.fmt != "parquet":
                return read_csv_range(stream, part, job.split, job.csv_settings, job.column_types)
            import pyarrow.parquet as pq

            table = pq.ParquetFile(stream).read_row_groups(list(part.row_groups))
    except (OSError, pa.ArrowException) as exc:
        raise ConnectorError(f"{intake.location}: cannot read part {part.index}: {exc}") from exc
    finally:
        intake.close()
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else None


def _predictor(job: PartJob, description: ModelDescription) -> Any:
    """The job's model, loaded once per worker process (kept by the artifact's digest) from a
    private copy of the artifact (a folder of this process's own, removed with the model)."""
    digest = job.model_key
    with _models_lock:
        if digest not in _models:
            for folder in _model_folders.values():
                shutil.rmtree(folder, ignore_errors=True)
            _models.clear()  # one model at a time: a worker serves one job's parts after another
            _model_folders.clear()
            folder = Path(tempfile.mkdtemp(prefix="scorecast-dask-model-"))
            _model_folders[digest] = folder
            path = folder / (Path(job.artifact_name).name or "model")
            path.write_bytes(job.artifact)
            try:
                _models[digest] = load_predictor(path, description)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                del _model_folders[digest]
                raise
        return _models[digest]


def write_ipc(batch: pa.RecordBatch) -> bytes:
    """A part's rows as stored: one Arrow IPC stream (``read_ipc`` reads it)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def read_ipc(data: bytes) -> pa.RecordBatch:
    """A part's rows, as ``score_part`` stored them."""
    with pa.ipc.open_stream(data) as reader:
        table = reader.read_all()
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)


def _fault_kill_worker_once() -> None:
    marker = os.environ.get(KILL_WORKER_ONCE, "").strip()
    if not marker:
        return
    try:
        os.unlink(marker)  # only one task removes it
    except OSError:
        return
    os._exit(70)


def _withdraw_if_cancelled(job: PartJob, store: PartStore, index: int) -> None:
    if not job.cancel_event:
        return
    import distributed

    event: Any = distributed.Event(job.cancel_event)  # type: ignore[no-untyped-call]
    if event.is_set():
        store.remove(index)
