"""Shared bench helpers: a real ``scorecast serve`` subprocess, and peak memory of a process tree.

``Serve`` starts ``scorecast serve --port 0`` on SQLite (or the ``database_url`` given) in its
own ``SCORECAST_HOME``, reads the
endpoint and the first-start admin token from its stdout (its output goes on to
``<home>/serve.log`` so the pipe never fills), registers model files as deployments, scores files
through the official client, and stops with SIGTERM on leaving the ``with`` block. ``PeakMemory``
samples the RSS and PSS summed over a process and all its children from a sampling process of its
own. ``serve_in_thread(app)`` serves an ASGI app with uvicorn in a thread of this process.
``load_average()`` and ``postgres_available()`` are what every bench prints and asks;
``CpuSpent`` is the CPU that processes and the machine spent over a window of a bench,
``tree_cpu_seconds(pid)`` a process tree's so far.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any


def load_average() -> str:
    """The load averages over 1, 5 and 15 minutes, as every bench prints them."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def postgres_available() -> bool:
    """Whether a PostgreSQL server answers on 127.0.0.1:5432."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


class CpuSpent:
    """CPU seconds (user + system) spent since it was made: by the processes ``pids`` (with
    their children), by every PostgreSQL server process on this machine, and by the machine
    (all its cores; ``busy_share`` of what they could have given)."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = list(pids)
        self._started = time.monotonic()
        self._start = self._now()

    def _now(self) -> tuple[float, float, float]:
        import psutil

        processes = sum(map(tree_cpu_seconds, self._pids))
        database = 0.0
        for process in psutil.process_iter(["name"]):
            if process.info["name"] == "postgres":
                database += _cpu_seconds(process)
        machine = psutil.cpu_times()
        return processes, database, float(sum(machine) - machine.idle - machine.iowait)

    def read(self) -> dict[str, float]:
        """``processes``, ``postgresql``, ``machine`` seconds so far; ``busy_share`` (0-1)."""
        wall = time.monotonic() - self._started
        processes, database, machine = (
            now - then for now, then in zip(self._now(), self._start, strict=True)
        )
        cores = os.cpu_count() or 1
        return {
            "processes": processes,
            "postgresql": database,
            "machine": machine,
            "busy_share": machine / max(wall * cores, 1e-9),
        }


SERVING = re.compile(r"scorecast is serving at (http://\S+/api/v2)")
START_TIMEOUT = 120.0


class Serve:
    """One ``scorecast serve`` process (see the module docstring)."""

    def __init__(self, home: Path, *args: str, database_url: str | None = None) -> None:
        self.home = home
        self.args = args
        #: the store (``SCORECAST_DATABASE_URL``); None: SQLite in the home
        self.database_url = database_url
        self.endpoint = ""
        self.token = ""
        self.process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def __enter__(self) -> Serve:
        env = {**os.environ, "SCORECAST_HOME": str(self.home)}
        for name in ("SCORECAST_DATABASE_URL", "SCORECAST_ENDPOINT", "SCORECAST_TOKEN"):
            env.pop(name, None)
        if self.database_url is not None:
            env["SCORECAST_DATABASE_URL"] = self.database_url
        self.home.mkdir(parents=True, exist_ok=True)
        log = (self.home / "serve.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scorecast", "serve", "--port", "0", *self.args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
        )
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout, log), daemon=True).start()
        if not self._ready.wait(START_TIMEOUT) or not self.endpoint or not self.token:
            self.__exit__(None, None, None)
            raise RuntimeError(f"scorecast serve did not start; see {self.home / 'serve.log'}")
        return self

    def _read(self, stdout: IO[str], log: IO[str]) -> None:
        expect_token = False
        for line in stdout:
            log.write(line)
            log.flush()
            found = SERVING.search(line)
            if found:
                self.endpoint = found.group(1)
            if expect_token:
                self.token = line.strip()
            expect_token = "API token:" in line
            if line.startswith("state folder:"):
                self._ready.set()
        self._ready.set()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def http(self) -> Any:
        import httpx

        return httpx.Client(
            base_url=self.endpoint + "/",
            headers={"Authorization": f"Token {self.token}"},
            timeout=300,
        )

    def register(self, model: Path, **fields: str) -> str:
        """Register ``model`` via ``POST deployments/fromModelFile/``; the deployment id.

        ``fields`` are the form fields (``targetName``, ``targetType``, ``positiveClass`` ...).
        """
        with self.http() as http:
            response = http.post(
                "deployments/fromModelFile/",
                files={"file": (model.name, model.read_bytes(), "application/octet-stream")},
                data=fields,
            )
        if response.status_code != 201:
            raise RuntimeError(f"registering {model.name}: {response.status_code} {response.text}")
        deployment_id: str = response.json()["id"]
        return deployment_id

    def connect_client(self) -> None:
        """Point the official ``datarobot`` client at this service (its global client)."""
        from datarobot.client import Client

        # the client builds urllib3's Retry with allowed_methods=[] (urllib3 >= 2.8 warns)
        warnings.filterwarnings(
            "ignore", "Using an empty collection for 'allowed_methods'", FutureWarning
        )
        Client(endpoint=self.endpoint, token=self.token)

    @staticmethod
    def score_to_file(deployment: str, source: Path, target: Path, **options: Any) -> None:
        """Score ``source`` into ``target`` with the official client's
        ``BatchPredictionJob.score_to_file`` (localFile in and out; ``connect_client`` first)."""
        from datarobot.models.batch_prediction_job import BatchPredictionJob

        with source.open("rb") as intake:
            BatchPredictionJob.score_to_file(deployment, intake, str(target), **options)


@contextlib.contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port of 127.0.0.1; yields ``http://127.0.0.1:PORT``."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def wait_until_idle(pid: int, timeout: float = 60.0, quiet: float = 0.05) -> float:
    """Wait until process ``pid`` and its children use under ``quiet`` of a core over half a
    second (a service that has finished starting up, e.g. its warm job process has imported
    its libraries); the seconds waited."""
    import psutil

    def cpu_seconds() -> float:
        total = 0.0
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system
        except psutil.Error:
            pass
        return total

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = cpu_seconds()
        time.sleep(0.5)
        if cpu_seconds() - before < quiet * 0.5:
            break
    return time.monotonic() - started


def _cpu_seconds(process: Any) -> float:
    """User + system CPU seconds of a ``psutil.Process`` so far (0 if it is gone)."""
    import psutil

    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds so far of process ``pid`` and all its children (0 if gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        return sum(map(_cpu_seconds, [root, *root.children(recursive=True)]))
    except psutil.Error:
        return 0.0


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over process ``pid`` and all its children (0, 0 if gone)."""
    import psutil

    rss = pss = 0
    try:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            info = process.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
    except psutil.Error:
        pass
    return rss, pss


class PeakMemory:
    """Peak (RSS, PSS) of a process tree, sampled every ``interval`` s while in the block.

    RSS counts pages shared between processes (a forked worker and its parent) once per
    process; PSS splits them between the sharers, so it is the fairer measure of a
    multi-process tree. ``baseline_rss``/``baseline_pss`` hold the figures at entry (an idle
    server's footprint). The sampling runs in a process of its own (this file run as a
    script), so that it never competes for the GIL of the process that measures; in (c) that
    process is also the client uploading and downloading the job's data.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_rss = self.peak_pss = 0
        self.baseline_rss = self.baseline_pss = 0
        self._sampler: subprocess.Popen[str] | None = None

    def __enter__(self) -> PeakMemory:
        self.baseline_rss, self.baseline_pss = tree_memory(self.pid)
        self._sampler = subprocess.Popen(
            [sys.executable, __file__, str(self.pid), str(self.interval)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._sampler is not None
        output, _ = self._sampler.communicate("")  # closing stdin ends the sampling
        self.peak_rss, self.peak_pss = (int(value) for value in output.split())


def _sample_until_stdin_closes(pid: int, interval: float) -> None:
    peak_rss = peak_pss = 0
    done = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    while not done.is_set():
        rss, pss = tree_memory(pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        done.wait(interval)
    print(peak_rss, peak_pss)


if __name__ == "__main__":
    _sample_until_stdin_closes(int(sys.argv[1]), float(sys.argv[2]))
