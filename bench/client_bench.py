"""Client start-up: wall time of one listing of jobs in a fresh process, three ways.

Against one real ``scorecast serve`` holding some jobs, each command runs N times in a fresh
Python process (interleaved, so a load change on the machine hits all three alike):

- ``scorecast jobs list --json``: the server install's ``scorecast`` command, in this Python;
- the same through the client-only entry point, in a venv holding only ``scorecast-client``
  and the official client (``.cache/bench-client-venv``, made on the first run): what
  ``pip install scorecast-client`` gives a user;
- the official client, in that same venv: ``import datarobot``, ``Client(...)``,
  ``BatchPredictionJob.list_by_status()``.

The client-only venv matters: a development install holds packages that the SDK's own
libraries import when present (``httpcore`` imports ``trio``, for one), which a user of the
client alone does not have.

Prints the median of each and its ratio to the official client's (the issue aims at a third).

Usage: python bench/client_bench.py [--runs N] [--jobs J]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _serve import Serve

from scorecast.demo import MODEL

OFFICIAL = (
    "import os, datarobot as dr; "
    "dr.Client(endpoint=os.environ['SCORECAST_ENDPOINT'], token=os.environ['SCORECAST_TOKEN']); "
    "print(len(dr.BatchPredictionJob.list_by_status()))"
)
CLIENT_ONLY = "from scorecast_client.cli import run; run()"


REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".cache" / "bench-client-venv"


def _client_venv() -> Path:
    """The venv's Python, holding scorecast-client (from this checkout) and datarobot only."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        packages = [str(REPO / "client"), "datarobot==3.20.0"]
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
    return python


def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    from scorecast_client import Client

    venv_python = str(_client_venv())
    with tempfile.TemporaryDirectory() as scratch, Serve(Path(scratch) / "home") as serve:
        deployment = serve.register(
            MODEL, targetName="readmitted", targetType="binary", positiveClass="yes"
        )
        with Client(serve.endpoint, serve.token) as client:
            for _ in range(args.jobs):
                client.jobs.abort(client.jobs.create_local(deployment).id)
        env = {**os.environ, "SCORECAST_ENDPOINT": serve.endpoint, "SCORECAST_TOKEN": serve.token}
        listing = ["jobs", "list", "--json"]
        commands = {
            "scorecast jobs list --json (server install)": [
                sys.executable,
                "-m",
                "scorecast",
                *listing,
            ],
            "client-only install": [venv_python, "-c", CLIENT_ONLY, *listing],
            "official datarobot client": [venv_python, "-c", OFFICIAL],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(_wall(command, env))
    official = statistics.median(times["official datarobot client"])
    print(f"{args.runs} runs each, {args.jobs} jobs on the server; median wall time:")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:<45} {median:6.3f} s  {median / official:5.2f}x the official client")


if __name__ == "__main__":
    main()
