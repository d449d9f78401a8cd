"""Service overhead benchmark: a job through ``scorecast serve`` and the official client, against
the same job run in-process by the engine.

Builds a CSV of ``--rows`` patients (the demo data repeated) and scores it with the shipped demo
ONNX model, passthrough ``patient_id``:

(a) ``engine``: ``run_job`` with local path intake and output, in this process;
(b) ``service``: ``BatchPredictionJob.score_to_file`` against a fresh ``scorecast serve`` on
    SQLite (upload, queue, worker, streamed download), wall clock as the client sees it.

Prints rows/s of each and their ratio. Run: ``python bench/serve_bench.py [--rows 1000000]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _serve import Serve

from scorecast.demo import DATA, MODEL


def make_input(path: Path, rows: int) -> None:
    lines = DATA.read_text().splitlines()
    header, body = lines[0], lines[1:]
    with path.open("w") as out:
        out.write(header + "\n")
        written = 0
        copy = 0
        while written < rows:
            for row in body[: rows - written]:
                ident, rest = row.split(",", 1)
                out.write(f"{ident}-{copy},{rest}\n")
            written += min(len(body), rows - written)
            copy += 1


def engine_run(source: Path, target: Path) -> float:
    from scorecast.domain.job_spec import JobSpec
    from scorecast.engine import run_job
    from scorecast.predictors import describe_model
    from scorecast.testing import PathIntake, PathOutput

    description = describe_model(
        MODEL, target="readmitted", target_type="binary", positive_class="yes"
    )
    spec = JobSpec.from_wire(
        {
            "deploymentId": "bench",
            "intakeSettings": {"type": "localFile"},
            "passthroughColumns": ["patient_id"],
            "numConcurrent": 2,
            "chunkSize": "auto",
        }
    )
    started = time.perf_counter()
    intake, output = PathIntake(source), PathOutput(target)
    run_job(
        spec,
        intake,
        output,
        artifact=MODEL,
        description=description,
        report=lambda progress: None,
        should_abort=lambda: False,
        log=lambda message: None,
        total_bytes=source.stat().st_size,
    )
    output.commit()
    intake.close()
    return time.perf_counter() - started


def service_run(home: Path, source: Path, target: Path) -> float:
    with Serve(home, "--workers", "1") as server:
        deployment = server.register(
            MODEL, targetName="readmitted", targetType="binary", positiveClass="yes"
        )
        server.connect_client()
        started = time.perf_counter()
        server.score_to_file(
            deployment, source, target, passthrough_columns=["patient_id"], num_concurrent=2
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        source = folder / "patients.csv"
        make_input(source, args.rows)
        size_mb = source.stat().st_size / 1e6
        print(
            f"input: {args.rows:,} rows, {size_mb:.1f} MB ({sys.platform}, {os.cpu_count()} cores)"
        )
        engine_seconds = engine_run(source, folder / "engine.csv")
        service_seconds = service_run(folder / "home", source, folder / "service.csv")
        rows_engine = args.rows / engine_seconds
        rows_service = args.rows / service_seconds
        for name, seconds, speed in (
            ("engine  (in-process run_job)     ", engine_seconds, rows_engine),
            ("service (score_to_file via serve)", service_seconds, rows_service),
        ):
            print(f"{name}: {seconds:6.2f} s  {speed:>10,.0f} rows/s")
        print(f"service / engine throughput: {rows_service / rows_engine:.2f}")
        same = (folder / "engine.csv").read_bytes() == (folder / "service.csv").read_bytes()
        print(f"identical outputs: {same}")


if __name__ == "__main__":
    main()
