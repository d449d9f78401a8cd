"""Many tiny jobs through a real ``scorecast serve``, against scoring the same rows in-process.

Usage: ``python bench/tiny_jobs_bench.py [--jobs 500] [--rows 10] [--workers 2] [--clients 4]
[--store sqlite|postgres|both]``.

For each store, starts ``scorecast serve --workers N`` (SQLite in its home, or a fresh
PostgreSQL database on 127.0.0.1:5432), registers the demo model and waits until the service
is idle (its warm job processes have imported their libraries). Then ``--clients`` threads,
each with its own HTTP connection, submit the jobs as a user would (``POST batchPredictions/``
with localFile intake and output, then ``PUT`` of the first ``--rows`` demo rows), one after
the other in each thread, without waiting for results; the bench process polls the job list
every ``POLL_SECONDS`` (one request: how many are not finished) until none is left.

Prints per store: jobs/s (first submission to the poll that saw the last completion), wall
time per job, and the per-job overhead = wall per job - in-process per job, where the
in-process figure is the same rows scored by ``engine.run_job`` in the bench process (localFile
in and out, the loaded model kept, as a warm job process keeps it), averaged over
``--baseline`` runs after one warm-up. Also the CPU per job of the service process and of its
job processes (its children, ended and running, before and after), and the bench process's
own CPU per job (the clients).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from _serve import Serve, load_average, postgres_available, wait_until_idle

from scorecast.demo import DATA, MODEL

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
BENCH_DB = "scorecast_tiny_jobs_bench"
#: how often the bench asks how many jobs are not finished yet
POLL_SECONDS = 0.2
DEMO_MODEL = {"targetName": "readmitted", "targetType": "binary", "positiveClass": "yes"}


def _children_cpu(pid: int) -> float:
    """CPU seconds of ``pid``'s children: those it reaped, and those still running."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    total = float(times.children_user + times.children_system)
    for child in root.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
    return total


def _own_cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def in_process_seconds(rows: Path, runs: int, folder: Path) -> float:
    """Seconds per job of ``engine.run_job`` on ``rows`` in this process (localFile in and
    out, output committed), after one warm-up that loads the model."""
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
            "outputSettings": {"type": "localFile"},
        }
    )

    def one(index: int) -> None:
        intake, output = PathIntake(rows), PathOutput(folder / f"scored-{index}.csv")
        run_job(
            spec,
            intake,
            output,
            artifact=MODEL,
            description=description,
            report=lambda progress: None,
            should_abort=lambda: False,
            log=lambda line: None,
        )
        intake.close()
        output.commit()

    one(-1)
    started = time.perf_counter()
    for index in range(runs):
        one(index)
    return (time.perf_counter() - started) / runs


def _submit(serve: Serve, deployment: str, rows: bytes, count: int, errors: list[str]) -> None:
    try:
        with serve.http() as http:
            for _ in range(count):
                job = http.post(
                    "batchPredictions/",
                    json={
                        "deploymentId": deployment,
                        "intakeSettings": {"type": "localFile"},
                        "outputSettings": {"type": "localFile"},
                    },
                )
                job.raise_for_status()
                http.put(job.json()["links"]["csvUpload"], content=rows).raise_for_status()
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")


def _count(http: Any, *statuses: str) -> int:
    query = [("status", status) for status in statuses] + [("limit", "1")]
    response = http.get("batchPredictions/", params=query)
    response.raise_for_status()
    return int(response.json()["totalCount"])


def run_service(
    home: Path, database_url: str | None, args: argparse.Namespace, rows: bytes
) -> dict[str, float]:
    """Submit ``args.jobs`` jobs to a fresh service and wait for them all (see the module
    docstring); the figures."""
    with Serve(home, "--workers", str(args.workers), database_url=database_url) as serve:
        deployment = serve.register(MODEL, **DEMO_MODEL)
        wait_until_idle(serve.pid)
        jobs_before, own_before = _children_cpu(serve.pid), _own_cpu(serve.pid)
        bench_before = _own_cpu(os.getpid())
        errors: list[str] = []
        shares = [
            args.jobs // args.clients + (1 if i < args.jobs % args.clients else 0)
            for i in range(args.clients)
        ]
        clients = [
            threading.Thread(target=_submit, args=(serve, deployment, rows, share, errors))
            for share in shares
        ]
        started = time.perf_counter()
        for client in clients:
            client.start()
        with serve.http() as http:
            while True:
                time.sleep(POLL_SECONDS)
                submitting = any(client.is_alive() for client in clients)
                if not submitting and not _count(http, "INITIALIZING", "RUNNING"):
                    break
            elapsed = time.perf_counter() - started
            not_completed = _count(http, "FAILED", "ABORTED")
            completed = _count(http, "COMPLETED")
        for client in clients:
            client.join()
        if errors:
            print(f"  submission errors: {errors[:3]}")
        return {
            "completed": completed,
            "not completed": not_completed,
            "jobs/s": args.jobs / elapsed,
            "wall ms/job": elapsed * 1000 / args.jobs,
            "service CPU ms/job": (_own_cpu(serve.pid) - own_before) * 1000 / args.jobs,
            "job-process CPU ms/job": (_children_cpu(serve.pid) - jobs_before) * 1000 / args.jobs,
            "clients CPU ms/job": (_own_cpu(os.getpid()) - bench_before) * 1000 / args.jobs,
        }


@contextlib.contextmanager
def _postgres_database() -> Any:
    import psycopg

    admin = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{BENCH_DB}"')
    try:
        yield POSTGRES_URL.format(database=BENCH_DB)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _print(label: str, figures: dict[str, float], in_process_ms: float) -> None:
    shown = ", ".join(
        f"{name} {value:.1f}" if isinstance(value, float) else f"{name} {value}"
        for name, value in figures.items()
    )
    overhead = figures["wall ms/job"] - in_process_ms
    print(f"{label}: {shown}, overhead ms/job {overhead:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4, help="submitting threads")
    parser.add_argument("--baseline", type=int, default=200, help="in-process runs")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    lines = DATA.read_bytes().splitlines(keepends=True)
    rows = b"".join(lines[: args.rows + 1])
    print(
        f"{args.jobs} jobs of {args.rows} rows, --workers {args.workers}, "
        f"{args.clients} submitting clients"
    )
    print(f"load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "rows.csv").write_bytes(rows)
        per_job = in_process_seconds(folder / "rows.csv", args.baseline, folder)
        in_process_ms = per_job * 1000
        print(f"in-process (engine.run_job, model kept): {in_process_ms:.1f} ms/job")
        if args.store in ("sqlite", "both"):
            figures = run_service(folder / "sqlite", None, args, rows)
            _print("SQLite", figures, in_process_ms)
        if args.store in ("postgres", "both"):
            if not postgres_available():
                print("PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
            else:
                with _postgres_database() as url:
                    print(f"load average: {load_average()}")
                    figures = run_service(folder / "pg", url, args, rows)
                    _print("PostgreSQL", figures, in_process_ms)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
