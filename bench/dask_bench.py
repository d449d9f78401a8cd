"""Dask executor benchmark: one job scored locally and on a Dask cluster, same data, same run.

Writes in a temp dir a CSV of ``--rows`` rows of the demo's five patient columns and scores it
with the demo's ONNX model (``scorecast.demo``) through ``JobRun`` itself (the job process's
code path, with an in-memory ledger instead of a store; intake and output are ``filesystem``
files), ``--chunk`` bytes per chunk/part:

- ``local``: the local executor (``numConcurrent`` 2: threads of the job's process);
- ``dask-1`` / ``dask-2``: ``SCORECAST_DASK_ADDRESS`` set to a ``distributed.LocalCluster`` of
  1 and then 2 worker processes (one thread each) on this machine, started before the timing
  (its start-up is printed apart) and warmed with one job (each worker then holds the model).

It prints wall-clock seconds, rows/s and MB/s of input for each, checks that every output is
byte-identical to the local one, and times the assembly alone (what the job's process does for
each part: read its Arrow IPC stream and write it to a CSV output), the serial ceiling of one
job however many workers the cluster has.
Run: ``python bench/dask_bench.py [--rows 400000] [--chunk 1048576]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from scorecast.config import Settings
from scorecast.demo import MODEL
from scorecast.domain.job_claim import Claim
from scorecast.domain.job_spec import JobSpec
from scorecast.predictors.registry import describe_model
from scorecast.runtime.job_ledger import JobPlan
from scorecast.runtime.job_run import JobRun
from scorecast.runtime.memory_ledger import MemoryLedger

FEATURES = ("patient_id", "age", "visits_last_year", "medications", "admission_type")


def _write_rows(path: Path, count: int) -> None:
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(FEATURES)
        for index in range(count):
            kind = ("urgent", "elective", "emergency")[index % 3]
            writer.writerow([f"P{index:08d}", 20 + index % 70, index % 9, index % 14, kind])


def _job(source: Path, target: Path, chunk: int, address: str, attempt: int) -> float:
    spec: dict[str, Any] = {
        "deploymentId": "b" * 24,
        "intakeSettings": {"type": "filesystem", "url": source.as_uri()},
        "outputSettings": {"type": "filesystem", "url": target.as_uri()},
        "passthroughColumns": ["patient_id"],
        "chunkSize": chunk,
    }
    description = describe_model(
        MODEL, target="readmitted", target_type="binary", positive_class="yes"
    )
    plan = JobPlan(
        spec=JobSpec.from_wire(spec),
        description=description,
        artifact=str(MODEL),
        intake_size=None,
        scheduled_time=None,
    )
    ledger = MemoryLedger(plan)
    settings = replace(Settings.from_env(), dask_address=address)
    claim = Claim(job_id=f"{attempt:024d}", attempt=1, worker_id="bench", retried=False)
    started = time.perf_counter()
    JobRun(settings, ledger, claim, set).execute()
    elapsed = time.perf_counter() - started
    if ledger.failed:
        raise SystemExit(f"the job failed: {ledger.failed}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--chunk", type=int, default=1 << 20)
    args = parser.parse_args()

    import distributed

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ["SCORECAST_HOME"] = str(root / "home")
        os.environ["SCORECAST_FILE_ROOTS"] = str(root)
        source = root / "in.csv"
        _write_rows(source, args.rows)
        megabytes = source.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {megabytes:.1f} MB, parts of {args.chunk} bytes")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        runs = 0

        def measure(name: str, address: str) -> None:
            nonlocal runs
            runs += 1
            target = root / f"{name}.csv"
            seconds = _job(source, target, args.chunk, address, runs)
            same = target.read_bytes() == (root / "local.csv").read_bytes()
            print(
                f"{name:7s} {seconds:6.2f} s  {args.rows / seconds:9,.0f} rows/s  "
                f"{megabytes / seconds:5.1f} MB/s  output identical: {same}"
            )

        _job(source, root / "local.csv", args.chunk, "", 0)  # warm: imports, the model's load
        measure("local", "")
        for workers in (1, 2):
            started = time.perf_counter()
            with distributed.LocalCluster(  # type: ignore[no-untyped-call]
                processes=True, n_workers=workers, threads_per_worker=1, dashboard_address=None
            ) as cluster:
                print(f"cluster of {workers} started in {time.perf_counter() - started:.1f} s")
                _job(source, root / "warm.csv", args.chunk, cluster.scheduler_address, 100)
                measure(f"dask-{workers}", cluster.scheduler_address)
        _assembly(root / "local.csv", megabytes, args.rows)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _assembly(scored: Path, input_megabytes: float, rows: int) -> None:
    """Time the job process's share of a cluster job: parts (IPC) in, the CSV output out."""
    import io

    import pyarrow.csv as pacsv

    from scorecast.domain.csv_settings import CsvSettings
    from scorecast.engine.dask_tasks import read_ipc, write_ipc
    from scorecast.formats import open_encoder

    table = pacsv.read_csv(scored)
    parts = [write_ipc(batch) for batch in table.to_batches(max_chunksize=20_000)]
    sink = io.BytesIO()
    started = time.perf_counter()
    encoder = open_encoder("csv", CsvSettings(), sink)
    for part in parts:
        encoder.write(read_ipc(part))
    encoder.close()
    seconds = time.perf_counter() - started
    print(
        f"assembly alone: {seconds:.2f} s for {rows:,} rows ({rows / seconds:,.0f} rows/s, "
        f"{input_megabytes / seconds:.1f} MB/s of input, {len(sink.getvalue()) / 1e6 / seconds:.1f}"
        " MB/s of output)"
    )


if __name__ == "__main__":
    main()
