"""Job processes: every job runs in a job process, a child of the service, reused for later jobs.

Why job processes: the service process (API, scheduler, worker) never imports a model library,
so it stays small; a model that crashes or exhausts memory takes down its job, not the service
(the worker then ends the job FAILED saying so).

A job process is a fresh interpreter (``child_process``: the service is multi-threaded, so no
``fork``), imports the engine and the common model libraries, says ``ready`` and waits for a
job. After a job it forgets it (``job_traces``: environment, temporary folder, loaded models,
cached file systems) and says ``ready`` again, or exits (retires) when it ran
``Settings.job_process_max_jobs`` jobs, when its resident size is above
``Settings.job_process_max_rss_mb`` or when the job left a file open. The worker keeps the
processes that wait in ``JobProcesses``: at most one per slot; one started in advance while no
job runs; all let go after ``SPARE_IDLE_SECONDS`` without a job. The worker does not give a
process back when its job was told to stop (abort, lost lease, shutdown) or when the job's
model runs code when loaded (pickle, MLflow: such a job also gets a process that ran nothing).

The connection between the worker and the job process carries: worker → job, the settings
(``Settings.for_child``: no credential key, no store URL) and the prepared-model signing keys,
then for each job its ``Claim`` with its ``JobPlan`` (None when the worker could not read
it: the job asks and fails saying why), any of ``"abort"``, ``"lost"``, ``"shutdown"`` (see
``job_run``) and the answers to the job's calls; job → worker, ``"ready"`` (before each job),
calls on the job's ``JobLedger`` (``("call", method, args)``, answered from the store by the
worker's ``StoreLedger``: a job process never opens the store, see ``job_ledger``), its log
lines (``("log", line)``, not answered: the ledger keeps them for its next write) and
``"finished"``. So a ten-row localFile job waits for one answer only, to its ``finish``.
A job process whose worker is gone (the connection closed: the service was killed) treats it
as a lost lease and stops without writing anything; it ignores SIGINT, which a terminal sends
to the whole process group, so that Ctrl-C reaches only the service, which then stops its jobs
properly.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
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
#: a job's progress is stored from its first second on: a job that ends sooner (most of them
#: score a few rows) shows its counters when it ends, a store write less (``_RemoteLedger``)
FIRST_REPORT_SECONDS = 1.0
#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_ARENA_MAX = -1, -8


class JobProcess:
    """The worker's handle on one job process (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        from scorecast.service.secrets import signing_keys

        self.process, self._conn = start_child(__name__, "main")
        #: the jobs given to this process so far
        self.jobs = 0
        #: it ended its current job (``"finished"``)
        self.finished = False
        self._readies = 0  # the "ready" received: one before each job it runs
        self.idle_since = time.monotonic()
        self._ledger: JobLedger | None = None
        self._closed = False  # the process closed its end (it exited)
        self._store_outage = OutageLog(log, "answering a job process from the store")
        self._conn.send((settings.for_child(), _log_level(), signing_keys(settings)))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def ready(self) -> bool:
        """It waits for a job: it said ``"ready"`` once more than it was given jobs (a process
        still importing says it for its first job only once it has that job)."""
        return self._readies > self.jobs

    @property
    def pid(self) -> int:
        return self.process.pid

    def assign(self, claim: Claim, ledger: JobLedger) -> None:
        """Give the process its job, whose calls ``ledger`` answers (the process may still be
        importing, or forgetting its previous job; it starts once ready)."""
        try:
            plan: JobPlan | None = ledger.plan()  # read already: the worker looked at it
        except Exception:  # the job asks again and fails saying why
            plan = None
        self._ledger = ledger
        self.jobs += 1
        self.finished = False
        self._conn.send((claim, plan))

    def signal(self, name: str) -> None:
        """Send ``"abort"``, ``"lost"`` or ``"shutdown"``; ignored once the process is gone."""
        with contextlib.suppress(OSError):
            self._conn.send(name)

    def wait(self, timeout: float) -> bool:
        """Answer the job's calls for up to ``timeout`` seconds or until the process finished
        its job or ended; True once it has."""
        return self._wait_until(lambda: self.finished, timeout)

    def wait_ready(self, timeout: float) -> bool:
        """After its job: True once the process waits for another, False when it exits (it
        retires: see ``_serve_jobs``) or is not ready within ``timeout`` seconds."""
        self._wait_until(lambda: self.ready, timeout)
        return self.ready and self.alive

    def _wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if done():
                return True
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
            if done():
                return True
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
                elif message == "ready":
                    self._readies += 1
                elif isinstance(message, tuple) and message[0] == "call":
                    self._answer(message[1], message[2])
                elif isinstance(message, tuple) and message[0] == "log":
                    self._log(message[1])
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

    def _log(self, line: str) -> None:
        if self._ledger is None or not isinstance(line, str):
            return
        try:
            self._ledger.log(line)
        except Exception:  # never: a ledger keeps the line for later (``JobLedger.log``)
            log.exception("keeping a job's log line failed")

    def kill(self) -> None:
        self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self._remove_folders()

    def retire(self, grace: float) -> None:
        """Let the process go: it sees its connection close and exits; killed if it has not
        within ``grace`` seconds."""
        self.close()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()  # which removes its folders
            return
        self._remove_folders()

    def _remove_folders(self) -> None:
        """What a job left in its temporary folder when its process ended mid-job."""
        from scorecast.runtime import job_traces

        if not self.alive:
            job_traces.remove_folders_of(self.pid)

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
    """The worker's job processes waiting for a job: at most ``size`` (its slots).

    A process that finished a job cleanly comes back (``give_back``) and runs a later one; one
    is started in advance while no job runs (the spare). Idle processes are let go once the
    service has been idle for ``idle_seconds`` (and any process idle that long), so an idle
    service gives its memory back (the next job then starts its own process, a second or two).
    ``idle_seconds`` None keeps them for ever.
    """

    def __init__(
        self,
        settings: Settings,
        idle_seconds: float | None = SPARE_IDLE_SECONDS,
        size: int = 1,
        grace: float = 20.0,
    ) -> None:
        self.settings = settings
        self.idle_seconds = idle_seconds
        self.size = size
        self.grace = grace
        self._idle: list[JobProcess] = []
        self._lock = threading.Lock()
        self._warm_since = time.monotonic()

    def take(self, *, fresh: bool = False) -> JobProcess:
        """An idle process (the one back most recently), or a new one; ``fresh``: one that
        has run no job yet."""
        chosen: JobProcess | None = None
        with self._lock:
            dead = [p for p in self._idle if not p.alive]
            for process in reversed(self._idle):
                if process.alive and (process.jobs == 0 or not fresh):
                    chosen = process
                    break
            self._idle = [p for p in self._idle if p is not chosen and p not in dead]
        for process in dead:
            process.retire(self.grace)
        return chosen if chosen is not None else JobProcess(self.settings)

    def give_back(self, process: JobProcess) -> None:
        """``process`` finished a job and waits for another: keep it, or let it go when as
        many wait already."""
        process.idle_since = time.monotonic()
        with self._lock:
            keep = len(self._idle) < self.size
            if keep:
                self._idle.append(process)
        if not keep:
            process.retire(self.grace)

    def job_ended(self) -> None:
        """A job ended: keep a spare for another ``idle_seconds``."""
        self._warm_since = time.monotonic()

    def let_idle_go(self) -> None:
        """Let go of the processes idle for longer than ``idle_seconds``."""
        if self.idle_seconds is None:
            return
        cutoff = time.monotonic() - self.idle_seconds
        with self._lock:
            idle = [p for p in self._idle if p.idle_since < cutoff]
            self._idle = [p for p in self._idle if p not in idle]
        for process in idle:
            process.retire(self.grace)

    def keep_warm(self) -> None:
        """Start the spare if no process waits, or let them go once idle too long (call while
        no job runs)."""
        idle = time.monotonic() - self._warm_since
        if self.idle_seconds is not None and idle > self.idle_seconds:
            self.close()
            return
        with self._lock:
            if not any(p.alive for p in self._idle):
                self._idle.append(JobProcess(self.settings))

    @property
    def spare(self) -> JobProcess | None:
        """The process the next job gets, if one waits."""
        with self._lock:
            return self._idle[-1] if self._idle else None

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for process in idle:
            process.retire(self.grace)  # the process sees the pipe close and exits


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

    def tell(self, kind: str, value: Any) -> None:
        """Send ``(kind, value)``, which the worker does not answer."""
        with self._lock:
            try:
                self._conn.send((kind, value))
            except (EOFError, OSError) as exc:
                self.received.add("lost")
                raise WorkerGone("the service that ran this job is gone", abort=True) from exc


class _RemoteLedger:
    """A ``JobLedger`` whose calls the worker answers (see the module docstring); but the plan
    came with the job, log lines are sent without waiting, and the progress reports of the
    job's first ``FIRST_REPORT_SECONDS`` are not sent."""

    def __init__(self, link: _WorkerLink, plan: JobPlan | None) -> None:
        self._link = link
        self._plan = plan
        self._started = time.monotonic()

    def plan(self) -> JobPlan:
        if self._plan is not None:
            return self._plan
        return cast(JobPlan, self._link.call("plan"))

    def credential(self, credential_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._link.call("credential", credential_id))

    def data_store(self, data_store_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._link.call("data_store", data_store_id))

    def dataset_path(self, dataset_id: str, version_id: str | None) -> str:
        return cast(str, self._link.call("dataset_path", dataset_id, version_id))

    def report(self, update: ProgressUpdate) -> frozenset[str]:
        if time.monotonic() - self._started < FIRST_REPORT_SECONDS:
            return frozenset()  # the worker's signals still tell of an abort or a lost lease
        return cast(frozenset[str], self._link.call("report", update))

    def log(self, message: str) -> None:
        self._link.tell("log", message)

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
    _serve_jobs(conn, settings, log_level, keys)


def _serve_jobs(
    conn: Connection, settings: Settings, log_level: int | None, keys: list[bytes]
) -> None:
    if log_level is not None:
        log_format.configure(settings.log_format, log_level)
    _return_memory_early()
    for module in PRELOAD:
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            importlib.import_module(module)
    from scorecast.engine import pools
    from scorecast.predictors import prepared
    from scorecast.runtime import job_traces
    from scorecast.runtime.job_run import JobRun

    pools.use_fork_for_workers()
    prepared.configure(keys)
    baseline = job_traces.Baseline.now()
    jobs = 0
    while True:
        try:
            conn.send("ready")
            job = conn.recv()
        except (EOFError, OSError):
            return  # the worker is gone or let this process go
        if not (isinstance(job, tuple) and len(job) == 2 and isinstance(job[0], Claim)):
            return
        claim, plan = job
        jobs += 1
        folder = job_traces.begin_job(baseline)
        link = _WorkerLink(conn)
        log_format.job_id.set(claim.job_id)
        try:
            JobRun(settings, _RemoteLedger(link, plan), claim, link.signals).execute()
        except WorkerGone:
            log.warning("job %s: the service is gone; stopped", claim.job_id)
            return
        try:
            conn.send("finished")
        except OSError:
            return
        log_format.job_id.set(None)
        reasons = job_traces.forget_job(baseline, folder)
        _trim_memory()
        if jobs >= settings.job_process_max_jobs:
            reasons.append(f"it ran {jobs} job(s), its most")
        resident = _resident_megabytes()
        limit = settings.job_process_max_rss_mb
        if limit and resident is not None and resident > limit:
            reasons.append(f"it uses {resident:.0f} MB, more than {limit:.0f} MB")
        if reasons:
            log.debug("job process %d retires: %s", os.getpid(), "; ".join(reasons))
            return


def _trim_memory() -> None:
    """Give the heap's free memory back to the system (glibc), so that the resident size
    compared with the limit is what the process still holds."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _resident_megabytes() -> float | None:
    """This process's resident size now (Linux), in MB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


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
