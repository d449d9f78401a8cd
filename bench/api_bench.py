"""The API under load (issue 17): list pages in a big store, reads beside a writer, a mix of
concurrent clients, simultaneous submissions.

Per store (SQLite; PostgreSQL when it answers on 127.0.0.1:5432) the store is filled with
``--definitions`` definitions and ``--jobs`` jobs (``--waiting`` of them waiting in the queue)
in one organization, then a real ``scorecast serve --roles api`` process serves it and this
process is the client:

Beside each time, the server's CPU per request (its process and its extra API processes, user +
system): what a request costs whatever else the machine runs, where times on a shared machine
swing with its load. Beside the 40 clients' figures also the clients' own CPU (this process)
and PostgreSQL's (every ``postgres`` process) per request, and the share of the machine's cores
that was busy: when it nears 100 %, the throughput is what the cores give.

- small requests: ``GET version/`` (HTTP and authentication only), one job, a page of 20
  definitions: p50/p99 of sequential requests;
- every list page (100 rows): p50/p99 of sequential requests, each against its ceiling in the
  same run: the same service call (SQL and rows, no JSON, no HTTP) in this process;
- reads while a writer runs: ``GET batchPredictions/{id}/`` p50/p99 while 8 threads submit jobs
  back to back, against the same reads alone;
- 40 concurrent clients for ``--seconds``, after 3 s of the same untimed: 80 % reads (a job, a
  page of 20 jobs, a page of 20 definitions), 20 % submissions; requests/s and p50/p99, any
  non-2xx counted, then the reads' and the submissions' p50/p99 apart;
- 200 simultaneous submissions (SQLite only, where they used to fail): how many were accepted
  and the wall time until the last answer;
- reads beside writers and the 40 clients again against ``serve`` with ``--api-processes``
  processes serving the API (``SCORECAST_API_PROCESSES``), the one-process figures above as
  the baseline.

PostgreSQL's store is vacuumed and analyzed once filled, as autovacuum does in a running store
(a bulk load it has not seen yet is planned blind and counted row by row).

``--parts pages`` measures the list pages alone (a minute or two instead of five);
``--pg-database`` names the scratch PostgreSQL database (dropped before and after), so that two
runs on one server do not share it.

Usage: python bench/api_bench.py [--definitions N] [--jobs N] [--waiting N] [--seconds S]
       [--api-processes N] [--sqlite-only] [--parts pages beside mix simultaneous]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, insert

sys.path.insert(0, str(Path(__file__).parent))
from _serve import CpuSpent, load_average, postgres_available, tree_cpu_seconds

from scorecast.demo import MODEL
from scorecast.service import definitions, jobs
from scorecast.service.accounts import create_token
from scorecast.service.caller import Caller
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.models import ApiToken, Job, JobDefinition, User

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
BENCH_DB = "scorecast_api_bench"
SERVING = re.compile(r"scorecast is serving at (http://\S+/api/v2)")
LOCAL = {"intakeSettings": {"type": "localFile"}, "outputSettings": {"type": "localFile"}}
#: What ``--parts`` can choose (see the module docstring, in this order).
PARTS = ("pages", "beside", "mix", "simultaneous")
#: How long the 40 clients run untimed before they are measured (see ``_mix``).
WARM_UP_SECONDS = 3.0


def _seed(engine: Engine, n_definitions: int, n_jobs: int, n_waiting: int) -> tuple[str, Caller]:
    """Fill the store; the token and the caller of the organization holding everything."""
    with session_scope(engine) as session:
        token = create_token(session, "bench", "bench")
        user = session.query(User).join(ApiToken, ApiToken.user_id == User.id).one()
        caller = Caller(org_id=user.org_id, user_id=user.id, username=user.username)
    deployment = secrets.token_hex(12)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spec = {"deploymentId": deployment, "numConcurrent": 1, **LOCAL}
    rows: list[dict[str, Any]] = []

    def flush(table: Any) -> None:
        with session_scope(engine) as session:
            session.execute(insert(table), rows)
        rows.clear()

    for i in range(n_definitions):
        rows.append(
            {
                "id": secrets.token_hex(12),
                "org_id": caller.org_id,
                "name": f"definition {i}",
                "enabled": False,
                "job_spec": spec,
                "deployment_id": deployment,
                "created_by": caller.user_id,
                "updated_by": caller.user_id,
                "created": start + timedelta(seconds=i),
                "updated": start + timedelta(seconds=i),
            }
        )
        if len(rows) == 5000:
            flush(JobDefinition)
    if rows:
        flush(JobDefinition)
    for i in range(n_jobs):
        waiting = i >= n_jobs - n_waiting
        rows.append(
            {
                "id": secrets.token_hex(12),
                "org_id": caller.org_id,
                "deployment_id": deployment,
                "spec": spec,
                "source": "api",
                "status": "INITIALIZING" if waiting else "COMPLETED",
                "status_details": "Job submitted" if waiting else "Job completed",
                "queued": waiting,
                "intake_ready": True,
                "abort_requested": False,
                "created_by": caller.user_id,
                "created": start + timedelta(seconds=i),
                "finished": None if waiting else start + timedelta(seconds=i + 1),
            }
        )
        if len(rows) == 5000:
            flush(Job)
    if rows:
        flush(Job)
    return token, caller


class _CpuMeter:
    """CPU seconds (user + system) of the server process and its children, as they grow."""

    pid = 0

    def seconds(self) -> float:
        return tree_cpu_seconds(self.pid) if self.pid else 0.0

    def per_request(self, started: float, requests: int) -> str:
        """The CPU per request since ``started`` (a ``seconds()`` reading), in ms."""
        return f"server CPU {(self.seconds() - started) * 1000 / max(requests, 1):5.1f} ms/request"


SERVER = _CpuMeter()


def _others_per_request(clients: float, spent: CpuSpent, requests: int) -> str:
    """The clients' CPU (this process's, since ``clients``, a ``time.process_time()``) and
    PostgreSQL's per request, and how busy the machine was, since ``spent`` was made."""
    per_client = (time.process_time() - clients) * 1000 / max(requests, 1)
    cpu = spent.read()
    per_database = cpu["postgresql"] * 1000 / max(requests, 1)
    return (
        f"clients' CPU {per_client:4.1f} ms/request  PostgreSQL's {per_database:4.1f}"
        f"  (the machine {cpu['busy_share']:.0%} busy)"
    )


@contextmanager
def _serve(home: Path, database_url: str, processes: int = 1) -> Iterator[str]:
    """``scorecast serve --roles api`` on the store (``processes`` serving the API); its root."""
    env = {
        **os.environ,
        "SCORECAST_HOME": str(home),
        "SCORECAST_DATABASE_URL": database_url,
        "SCORECAST_API_PROCESSES": str(processes),
    }
    log = (home / "serve.log").open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "scorecast", "serve", "--port", "0", "--roles", "api"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert process.stdout is not None
    SERVER.pid = process.pid
    endpoint = ""
    for line in process.stdout:
        found = SERVING.search(line)
        if found:
            endpoint = found.group(1)
            break
    threading.Thread(target=process.stdout.read, daemon=True).start()
    try:
        if not endpoint:
            raise RuntimeError(f"scorecast serve did not start; see {home / 'serve.log'}")
        yield endpoint
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        SERVER.pid = 0


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"


def _timed(count: int, call: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 300, response.text
    return response


def _getter(http: httpx.Client, path: str, query: dict[str, Any]) -> Callable[[], object]:
    return lambda: _ok(http.get(path, params=query))


def _pages(http: httpx.Client, engine: Engine, caller: Caller, count: int) -> None:
    deployment = _ok(http.get("batchPredictions/", params={"limit": 1})).json()["data"][0]
    deployment_id = deployment["jobSpec"]["deploymentId"]
    job_lists: dict[str, dict[str, Any]] = {
        "jobs, newest first": {},
        "jobs, offset 50,000": {"offset": 50_000},
        "jobs waiting (INITIALIZING)": {"status": "INITIALIZING"},
        "jobs by deployment": {"deploymentId": deployment_id},
        "jobs by intakeType": {"intakeType": "localFile"},
        "jobs, oldest first": {"orderBy": "created"},
    }
    print(f"  list pages of 100 rows, {count} sequential requests each:")
    for name, params in job_lists.items():
        query = {"limit": 100, **params}
        cpu = SERVER.seconds()
        served = _timed(count, _getter(http, "batchPredictions/", query))
        cost = SERVER.per_request(cpu, count)
        filters = jobs.JobFilters(
            statuses=[params["status"]] if "status" in params else (),
            deployment_id=params.get("deploymentId"),
            intake_types=[params["intakeType"]] if "intakeType" in params else (),
            order_by=params.get("orderBy", "-created"),
        )

        def raw(f: jobs.JobFilters = filters, offset: int = params.get("offset", 0)) -> None:
            with session_scope(engine, deferred=True) as session:
                jobs.list_jobs(session, caller, f, offset=offset, limit=100)

        ceiling = _timed(count, raw)
        print(
            f"    {name:<34} {_percentiles(served)}   service call {_percentiles(ceiling)}   {cost}"
        )
    for name, params in {
        "definitions": {},
        "definitions, offset 9,900": {"offset": 9_900},
    }.items():
        query = {"limit": 100, **params}
        cpu = SERVER.seconds()
        served = _timed(count, _getter(http, "batchPredictionJobDefinitions/", query))
        cost = SERVER.per_request(cpu, count)

        def raw_definitions(offset: int = params.get("offset", 0)) -> None:
            with session_scope(engine, deferred=True) as session:
                definitions.list_definitions(session, caller, offset=offset, limit=100)

        ceiling = _timed(count, raw_definitions)
        print(
            f"    {name:<34} {_percentiles(served)}   service call {_percentiles(ceiling)}   {cost}"
        )


def _fixed_costs(http: httpx.Client, count: int) -> None:
    """What every request pays (``version/``: HTTP and the token check) and the small reads of
    the mix below, sequential requests each."""
    one = _ok(http.get("batchPredictions/", params={"limit": 1})).json()["data"][0]["id"]
    print(f"  small requests, {count} sequential requests each:")
    for name, path, query in (
        ("GET version/ (HTTP + token)", "version/", {}),
        ("GET batchPredictions/{id}/", f"batchPredictions/{one}/", {}),
        ("GET batchPredictionJobDefinitions/ 20", "batchPredictionJobDefinitions/", {"limit": 20}),
    ):
        cpu = SERVER.seconds()
        served = _timed(count, _getter(http, path, query))
        print(f"    {name:<38} {_percentiles(served)}   {SERVER.per_request(cpu, count)}")


def _deployment(http: httpx.Client) -> str:
    response = http.post(
        "deployments/fromModelFile/",
        files={"file": ("readmission.onnx", MODEL.read_bytes(), "application/octet-stream")},
        data={"targetName": "readmitted", "targetType": "binary", "positiveClass": "yes"},
    )
    return str(_ok(response).json()["id"])


def _reads_beside_writers(url: str, token: str, deployment: str, count: int) -> None:
    headers = {"Authorization": f"Token {token}"}
    body = {"deploymentId": deployment, **LOCAL}
    with httpx.Client(base_url=url + "/", headers=headers, timeout=120) as http:
        one = _ok(http.get("batchPredictions/", params={"limit": 1})).json()["data"][0]["id"]
        alone = _timed(count, lambda: _ok(http.get(f"batchPredictions/{one}/")))
        stop = threading.Event()
        written = [0]

        def write() -> None:
            with httpx.Client(base_url=url + "/", headers=headers, timeout=120) as writer:
                while not stop.is_set():
                    _ok(writer.post("batchPredictions/", json=body))
                    written[0] += 1

        writers = [threading.Thread(target=write) for _ in range(8)]
        for thread in writers:
            thread.start()
        try:
            beside = _timed(count, lambda: _ok(http.get(f"batchPredictions/{one}/")))
        finally:
            stop.set()
            for thread in writers:
                thread.join()
    print(f"  GET batchPredictions/{{id}}/ alone          {_percentiles(alone)}")
    print(
        f"  ... while 8 threads submit jobs           {_percentiles(beside)}"
        f"   ({written[0]} submitted meanwhile)"
    )


def _mix(url: str, token: str, deployment: str, seconds: float, clients: int = 40) -> None:
    """The 40 clients, after a few seconds of the same untimed: each API process builds its
    routes' request handling lazily, on the first requests that reach them (about 0.25 s of
    CPU each), which is not what a request costs a running service."""
    _run_mix(url, token, deployment, WARM_UP_SECONDS, clients, report=False)
    _run_mix(url, token, deployment, seconds, clients)


def _run_mix(
    url: str, token: str, deployment: str, seconds: float, clients: int, *, report: bool = True
) -> None:
    headers = {"Authorization": f"Token {token}"}
    body = {"deploymentId": deployment, **LOCAL}
    samples: dict[str, list[float]] = {"read": [], "submission": []}
    failures = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=url + "/", headers=headers, timeout=120) as http:
            one = http.get("batchPredictions/", params={"limit": 1}).json()["data"][0]["id"]
            requests: list[tuple[str, Callable[[], httpx.Response]]] = [
                ("read", lambda: http.get(f"batchPredictions/{one}/")),
                ("read", lambda: http.get("batchPredictions/", params={"limit": 20})),
                ("read", lambda: http.get("batchPredictionJobDefinitions/", params={"limit": 20})),
                ("read", lambda: http.get(f"batchPredictions/{one}/")),
                ("submission", lambda: http.post("batchPredictions/", json=body)),
            ]
            turn = index
            while time.monotonic() < deadline:
                kind, request = requests[turn % len(requests)]
                started = time.perf_counter()
                response = request()
                elapsed = time.perf_counter() - started
                turn += 1
                with lock:
                    samples[kind].append(elapsed)
                    failures[0] += response.status_code >= 300

    started = time.monotonic()
    cpu = SERVER.seconds()
    clients_cpu, database_cpu = time.process_time(), CpuSpent([])
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    if not report:
        return
    every = samples["read"] + samples["submission"]
    print(
        f"  {clients} clients, 80 % reads / 20 % submissions, {seconds:.0f} s: "
        f"{len(every) / wall:6.0f} requests/s  {_percentiles(every)}  non-2xx {failures[0]}"
        f"  {SERVER.per_request(cpu, len(every))}"
    )
    print(
        f"    reads {_percentiles(samples['read'])}"
        f"   submissions {_percentiles(samples['submission'])}"
        f"   {_others_per_request(clients_cpu, database_cpu, len(every))}"
    )


def _simultaneous(url: str, token: str, deployment: str, count: int = 200) -> None:
    headers = {"Authorization": f"Token {token}"}
    body = {"deploymentId": deployment, **LOCAL}
    barrier = threading.Barrier(count + 1)
    answers: list[int] = []
    lock = threading.Lock()

    def submit() -> None:
        with httpx.Client(base_url=url + "/", headers=headers, timeout=300) as http:
            barrier.wait()
            status = http.post("batchPredictions/", json=body).status_code
            with lock:
                answers.append(status)

    threads = [threading.Thread(target=submit) for _ in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    accepted = sum(1 for status in answers if status == 202)
    print(
        f"  {count} simultaneous submissions: {accepted} accepted, last answer after {wall:.1f} s"
    )


def _measure(name: str, home: Path, url: str, args: argparse.Namespace) -> None:
    home.mkdir(parents=True, exist_ok=True)
    migrate(url)
    engine = create_engine_for(url)
    try:
        started = time.perf_counter()
        token, caller = _seed(engine, args.definitions, args.jobs, args.waiting)
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE"
                )
        print(
            f"\n{name}: {args.definitions:,} definitions, {args.jobs:,} jobs "
            f"({args.waiting:,} waiting), filled in {time.perf_counter() - started:.0f} s; "
            f"load average {load_average()}"
        )
        parts = set(args.parts)
        with _serve(home, url) as api:
            headers = {"Authorization": f"Token {token}"}
            with httpx.Client(base_url=api + "/", headers=headers, timeout=120) as http:
                _fixed_costs(http, args.requests)
                if "pages" in parts:
                    _pages(http, engine, caller, args.requests)
                deployment = _deployment(http)
            if "beside" in parts:
                _reads_beside_writers(api, token, deployment, args.requests)
            if "mix" in parts:
                _mix(api, token, deployment, args.seconds)
            if name == "SQLite" and "simultaneous" in parts:
                _simultaneous(api, token, deployment)
        if args.api_processes > 1:
            print(f"  with {args.api_processes} API processes (load average {load_average()}):")
            with _serve(home, url, args.api_processes) as api:
                if "beside" in parts:
                    _reads_beside_writers(api, token, deployment, args.requests)
                if "mix" in parts:
                    _mix(api, token, deployment, args.seconds)
        print(f"  load average after: {load_average()}")
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--definitions", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument(
        "--pg-database", default=BENCH_DB, help="the PostgreSQL database to (re)create and drop"
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="what to measure besides the small requests (default: all)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        _measure("SQLite", home / "sqlite", f"sqlite:///{home / 'bench.db'}", args)
        if args.sqlite_only:
            return
        if not postgres_available():
            print("\nPostgreSQL: not reachable on 127.0.0.1:5432, skipped")
            return
        import psycopg

        admin = "host=127.0.0.1 user=postgres dbname=postgres"
        database = args.pg_database
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
            parser.error("--pg-database: lowercase letters, digits and underscores only")
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{database}"')
        try:
            _measure("PostgreSQL", home / "pg", POSTGRES_URL.format(database=database), args)
        finally:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
