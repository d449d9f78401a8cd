"""Job processes: every job runs in a process of its own, a child of the service.

Why a process per job: the service process (API, scheduler, worker) never imports a model
library, so it stays small; the memory a job used is given back when it ends; and a model that
crashes or exhausts memory takes down its job, not the service (the worker then ends the job
FAILED saying so).

A job process is a fresh interpreter (``child_process``: the service is multi-threaded, so no
``fork``), imports the engine and the common model libraries, says ``ready`` and waits for
one job. The worker keeps one such process warm while no job runs (``JobProcesses``), so a job
does not wait for those imports; while jobs run, no spare is kept (it would only add memory at
the busiest moment), and a second concurrent job starts its own. After ``SPARE_IDLE_SECONDS``
without a job the spare is let go too.

The connection between the worker and the job process carries: worker → job, the settings
(``Settings.for_child``: no credential key, no store URL) and the prepared-model signing keys,
the ``Claim``, then any of ``"abort"``, ``"lost"``, ``"shutdown"`` (see ``job_run``) and the
answers to the job's calls; job → worker, ``"ready"``, calls on the job's ``JobLedger``
(``("call", method, args)``, answered from the store by the worker's ``StoreLedger``: a job
process never opens the store, see ``job_ledger``) and ``"finished"``. A job process whose
worker is gone (the connection closed: the service was killed) treats it as a lost lease and
stops without writing anything; it ignores SIGINT, which a terminal sends to the whole process
group, so that Ctrl-C reaches only the service, which then stops its jobs properly.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import signal
import subprocess
import threading
import time
from multiprocessing.connection import Connection
from typing import Any, cast

from scorecast import log_format
from scorecast.child_process import child_connection, replied, reply_to, start_child
from scorecast.config import Settings
from scorecast.domain.job_claim import Claim, ProgressUpdate
from scorecast.errors import JobFailure, ScorecastError
from scorecast.runtime.job_ledger import LEDGER_CALLS, JobLedger, JobPlan
from scorecast.runtime.outage_log import OutageLog

log = logging.getLogger("scorecast.worker")

#: imported by a warm job process before it waits for a job
PRELOAD = (
    "scorecast.runtime.job_run",
    "scorecast.predictors.registry",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.linear_model",
)
#: a warm job process is let go after the service was idle this long
SPARE_IDLE_SECONDS = 600.0
#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_ARENA_MAX = -1, -8


class JobProcess:
    """The worker's handle on one job process (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        from scorecast.service.secrets import signing_keys

        self.process, self._conn = start_child(__name__, "main")
        self.finished = False
        self._ledger: JobLedger | None = None
        self._closed = False  # the process closed its end (it exited)
        self._store_outage = OutageLog(log, "answering a job process from the store")
        self._conn.send((settings.for_child(), _log_level(), signing_keys(settings)))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def assign(self, claim: Claim, ledger: JobLedger) -> None:
        """Give the process its job, whose calls ``ledger`` answers (the process may still be
        importing; it starts once ready)."""
        self._ledger = ledger
        self._conn.send(claim)

    def signal(self, name: str) -> None:
        """Send ``"abort"``, ``"lost"`` or ``"shutdown"``; ignored once the process is gone."""
        with contextlib.suppress(OSError):
            self._conn.send(name)

    def wait(self, timeout: float) -> bool:
        """Answer the job's calls for up to ``timeout`` seconds or until the process ends;
        True once it has."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = max(deadline - time.monotonic(), 0.0)
            if self._closed:
                try:
                    self.process.wait(remaining)
                except subprocess.TimeoutExpired:
                    return False
                return True
            try:
                if self._conn.poll(remaining):
                    self._receive()
            except (EOFError, OSError):
                self._closed = True
            if self.process.poll() is not None:
                self._receive()  # what it sent just before it exited
                return True
            if remaining == 0.0:
                return False

    def _receive(self) -> None:
        try:
            while self._conn.poll(0):
                message = self._conn.recv()
                if message == "finished":
                    self.finished = True
                elif isinstance(message, tuple) and message[0] == "call":
                    self._answer(message[1], message[2])
        except (EOFError, OSError):
            self._closed = True

    def _answer(self, method: str, args: tuple[Any, ...]) -> None:
        ledger = self._ledger

        def call() -> Any:
            if ledger is None or method not in LEDGER_CALLS:
                raise ScorecastError(f"a job process asked its worker for {method!r}")
            try:
                answer = getattr(ledger, method)(*args)
            except ScorecastError:
                raise
            except Exception as exc:  # the store's own errors stay in the worker's log
                self._store_outage.failed(exc)
                raise ScorecastError(
                    f"internal error in the worker ({type(exc).__name__}); "
                    "details are in the server log"
                ) from exc
            self._store_outage.succeeded()
            return answer

        reply_to(self._conn, call, "reply")

    def kill(self) -> None:
        self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)

    def describe_exit(self) -> str:
        code = self.process.returncode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            cause = " (killed: out of memory?)" if -code == signal.SIGKILL else ""
            return f"the job's process was ended by {name}{cause}"
        return f"the job's process exited unexpectedly with code {code}"

    def close(self) -> None:
        self._conn.close()


class JobProcesses:
    """Hands out job processes, keeping one started in advance while no job runs.

    The spare is kept for ``idle_seconds`` after the service starts or a job ends; a service
    idle longer gives its memory back (the next job then starts its own process, a second or
    two). ``idle_seconds`` None keeps it for ever.
    """

    def __init__(self, settings: Settings, idle_seconds: float | None = SPARE_IDLE_SECONDS) -> None:
        self.settings = settings
        self.idle_seconds = idle_seconds
        self._spare: JobProcess | None = None
        self._lock = threading.Lock()
        self._warm_since = time.monotonic()

    def take(self) -> JobProcess:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.alive:
            return spare
        if spare is not None:
            spare.close()
        return JobProcess(self.settings)

    def job_ended(self) -> None:
        """A job ended: keep a spare for another ``idle_seconds``."""
        self._warm_since = time.monotonic()

    def keep_warm(self) -> None:
        """Start the spare if there is none, or let it go once idle too long (call while no
        job runs)."""
        idle = time.monotonic() - self._warm_since
        if self.idle_seconds is not None and idle > self.idle_seconds:
            self.close()
            return
        with self._lock:
            if self._spare is None or not self._spare.alive:
                self._spare = JobProcess(self.settings)

    @property
    def spare(self) -> JobProcess | None:
        return self._spare

    def close(self) -> None:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.close()  # the process sees the pipe close and exits
            spare.wait(5)


# --- inside the job process -------------------------------------------------------------------


class WorkerGone(JobFailure):
    """The job process's connection to its worker closed: the service is gone."""


class _WorkerLink:
    """The job process's end of the connection: the worker's signals and the ledger's calls
    (one at a time: a call waits for its answer, keeping the signals that come first)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self.received: set[str] = set()

    def signals(self) -> set[str]:
        """The worker's signals received so far (``"lost"`` once the worker is gone)."""
        with self._lock:
            try:
                while self._conn.poll():
                    self.received.add(self._conn.recv())
            except (EOFError, OSError):
                self.received.add("lost")  # another worker will run the job again
            return self.received

    def call(self, method: str, *args: Any) -> Any:
        with self._lock:
            try:
                self._conn.send(("call", method, args))
                while True:
                    message = self._conn.recv()
                    if isinstance(message, tuple):  # ("reply", outcome, value)
                        return replied(message[1], message[2])
                    self.received.add(message)
            except (EOFError, OSError) as exc:
                self.received.add("lost")
                raise WorkerGone("the service that ran this job is gone", abort=True) from exc


class _RemoteLedger:
    """A ``JobLedger`` whose every call is answered by the worker (see the module docstring)."""

    def __init__(self, link: _WorkerLink) -> None:
        self._link = link

    def plan(self) -> JobPlan:
        return cast(JobPlan, self._link.call("plan"))

    def credential(self, credential_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._link.call("credential", credential_id))

    def data_store(self, data_store_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._link.call("data_store", data_store_id))

    def dataset_path(self, dataset_id: str, version_id: str | None) -> str:
        return cast(str, self._link.call("dataset_path", dataset_id, version_id))

    def report(self, update: ProgressUpdate) -> frozenset[str]:
        return cast(frozenset[str], self._link.call("report", update))

    def log(self, message: str) -> None:
        self._link.call("log", message)

    def finish(self, summary: str, progress: ProgressUpdate) -> bool:
        return cast(bool, self._link.call("finish", summary, progress))

    def fail(self, status: str, message: str, progress: ProgressUpdate | None) -> None:
        self._link.call("fail", status, message, progress)

    def release(self, reason: str) -> None:
        self._link.call("release", reason)


def main(descriptor: int) -> None:
    """The job process (started by ``JobProcess`` through ``child_process.start_child``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = child_connection(descriptor)
    try:
        settings, log_level, keys = conn.recv()
    except (EOFError, OSError):
        return
    _serve_one_job(conn, settings, log_level, keys)


def _serve_one_job(
    conn: Connection, settings: Settings, log_level: int | None, keys: list[bytes]
) -> None:
    if log_level is not None:
        log_format.configure(settings.log_format, log_level)
    _return_memory_early()
    for module in PRELOAD:
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            importlib.import_module(module)
    try:
        conn.send("ready")
        claim = conn.recv()
    except (EOFError, OSError):
        return  # the worker is gone or let this spare go
    from scorecast.engine import pools
    from scorecast.predictors import prepared
    from scorecast.runtime.job_run import JobRun

    pools.use_fork_for_workers()
    prepared.configure(keys)
    link = _WorkerLink(conn)
    log_format.job_id.set(claim.job_id)
    try:
        JobRun(settings, _RemoteLedger(link), claim, link.signals).execute()
    except WorkerGone:
        log.warning("job %s: the service is gone; stopped", claim.job_id)
        return
    with contextlib.suppress(OSError):
        conn.send("finished")


def _return_memory_early() -> None:
    """Keep a job's memory close to what its chunks in flight need.

    pyarrow's default allocator (jemalloc) and glibc's per-thread arenas both keep memory a
    chunk freed for later, so a job's resident size grew well past its live data (measured
    with a 100-tree model, 4 MiB chunks, 2 threads: 363 MB peak RSS; 314 MB with pyarrow on
    the system allocator, at most 2 arenas and a 1 MiB trim threshold).
    """
    import ctypes

    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(_M_ARENA_MAX, 2)
    libc.mallopt(_M_TRIM_THRESHOLD, 1 << 20)


def _log_level() -> int | None:
    """The service's log level for scorecast's loggers, when it logs to a handler of its own."""
    logger = logging.getLogger("scorecast")
    return logger.level if logger.handlers and not logger.propagate else None
