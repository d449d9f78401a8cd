"""Many tiny jobs through a real ``scorecast serve``: warm job processes reused, or not.

Usage: ``python bench/tiny_jobs_bench.py [--jobs 200] [--baseline 40] [--rows 10]
[--workers 2]``. Starts
``scorecast serve --workers N`` on SQLite twice in the same run: once with the default pool
(``SCORECAST_JOB_PROCESS_MAX_JOBS`` 50) and once with ``SCORECAST_JOB_PROCESS_MAX_JOBS=1`` (a
process per job: no reuse). Each time it registers the demo model, submits the jobs (localFile
intake of the first ``--rows`` demo rows) one after the other and waits for all to complete.
Prints per mode: jobs/s (first submission to last completion) and the CPU seconds the job
processes used per job (the service's children, ended and running, before and after; the
service process's own CPU is printed apart).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from _serve import Serve, wait_until_idle

from scorecast.demo import DATA, MODEL


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


def _run(home: Path, jobs: int, rows: bytes, workers: int, max_jobs: int | None) -> dict[str, Any]:
    if max_jobs is None:
        os.environ.pop("SCORECAST_JOB_PROCESS_MAX_JOBS", None)
    else:
        os.environ["SCORECAST_JOB_PROCESS_MAX_JOBS"] = str(max_jobs)
    with Serve(home, "--workers", str(workers)) as serve:
        deployment = serve.register(
            MODEL, targetName="readmitted", targetType="binary", positiveClass="yes"
        )
        wait_until_idle(serve.pid)
        cpu_before, own_before = _children_cpu(serve.pid), _own_cpu(serve.pid)
        started = time.perf_counter()
        pending = []
        with serve.http() as http:
            for _ in range(jobs):
                job = http.post(
                    "batchPredictions/",
                    json={
                        "deploymentId": deployment,
                        "intakeSettings": {"type": "localFile"},
                        "outputSettings": {"type": "localFile"},
                    },
                ).json()
                http.put(job["links"]["csvUpload"], content=rows).raise_for_status()
                pending.append(job["links"]["self"])
            failed = 0
            while pending:
                state = http.get(pending[0]).json()
                if state["status"] in ("COMPLETED", "ABORTED", "FAILED"):
                    if state["status"] != "COMPLETED":
                        failed += 1
                        print(f"  {state['status']}: {state['statusDetails']}")
                    pending.pop(0)
                else:
                    time.sleep(0.02)
        elapsed = time.perf_counter() - started
        return {
            "jobs/s": jobs / elapsed,
            "job-process CPU ms/job": (_children_cpu(serve.pid) - cpu_before) * 1000 / jobs,
            "service CPU ms/job": (_own_cpu(serve.pid) - own_before) * 1000 / jobs,
            "not completed": failed,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--baseline", type=int, default=40, help="jobs without reuse")
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    lines = DATA.read_bytes().splitlines(keepends=True)
    rows = b"".join(lines[: args.rows + 1])
    print(f"jobs of {args.rows} rows, --workers {args.workers}, SQLite")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    runs = (("pool (max 50 jobs)", None, args.jobs), ("no reuse (max 1 job)", 1, args.baseline))
    with tempfile.TemporaryDirectory() as folder:
        for label, max_jobs, jobs in runs:
            result = _run(Path(folder) / str(max_jobs), jobs, rows, args.workers, max_jobs)
            figures = ", ".join(
                f"{name} {value:.1f}" if isinstance(value, float) else f"{name} {value}"
                for name, value in result.items()
            )
            print(f"{label}, {jobs} jobs: {figures}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
