"""The worker: claims jobs from the store and runs each in a job process (reused for later jobs).

- A claim loop takes the oldest claimable job whenever a slot is free (``claims.claim_next_job``
  under a lease) and hands it to a job process (``job_process``), which runs it to its end
  (``job_run``: intake → ``engine.run_job`` → commit → ``finish_job``). A thread per job
  supervises its process. A process that finished its job cleanly runs a later one
  (``job_process.JobProcesses``); while no job runs, one job process is kept warm. The
  transaction that ends a job COMPLETED also claims the next claimable job
  (``StoreLedger.claim_next``), which the same thread runs next: while jobs wait, a slot goes
  from one to the next in one store transaction, without waiting for the claim loop.
- A heartbeat thread renews the leases of the running jobs every ``lease_seconds / 3`` and
  picks up abort requests, which it passes on to the job process: an aborted job stops within
  a heartbeat plus one progress tick. A job whose lease was lost (this process stalled and
  another worker took over) stops without writing anything to the store.
- A job process that dies (a crash, the kernel's out-of-memory killer) without finishing its
  job: the job ends FAILED with the cause; nothing it wrote is committed, and what it staged is
  removed (``output_cleanup``). A job process that
  does not stop within ``STOP_GRACE_SECONDS`` of being told to is killed.
- A sweep thread removes, every ``Settings.debris_sweep_seconds``, the staging files that
  crashed attempts left (``debris_sweep``).
- A limits thread applies the definitions' ``timeoutSeconds`` and ``expectedDurationSeconds``
  to every running job of the store, held by this worker or another, every
  ``LIMITS_CHECK_SECONDS`` (``service.run_limits``): a timed-out job is aborted like a user's
  abort, so it stops even when its worker is gone or its job process stuck.
- A retention thread applies the retention policies every
  ``Settings.retention.sweep_seconds`` (``retention_sweep``).
- On start, jobs still leased by a worker of this machine whose process is gone (the service
  was killed and restarted) have their leases ended at once (``claims.expire_leases_of``), so
  they run again now instead of showing stale progress until their leases run out.
- ``stop()``: no new claims; running jobs stop and go back to the queue (``release_job``), so a
  restarted or another worker runs them again as a new attempt.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scorecast import log_format
from scorecast.config import Settings
from scorecast.domain.job_claim import Claim
from scorecast.runtime import debris_sweep, job_traces, output_cleanup, retention_sweep
from scorecast.runtime.job_process import SPARE_IDLE_SECONDS, JobProcess, JobProcesses
from scorecast.runtime.outage_log import OutageLog
from scorecast.runtime.store_ledger import StoreLedger
from scorecast.service import claims, run_limits
from scorecast.service.trusted_models import UNPICKLED_FORMATS
from scorecast.store.db import session_scope
from scorecast.store.types import utcnow

log = logging.getLogger("scorecast.worker")

DEFAULT_LEASE_SECONDS = 30.0
#: a job process told to stop (abort, shutdown, lost lease) is killed after this long
STOP_GRACE_SECONDS = 20.0
_SUPERVISE_SECONDS = 0.25
#: how often running jobs are checked against their definitions' time limits
LIMITS_CHECK_SECONDS = 1.0
#: how many of the latest jobs ``Worker.job_process_ids`` remembers
_PROCESS_IDS_KEPT = 1000


@dataclass
class _Running:
    claim: Claim
    thread: threading.Thread | None = None
    abort_requested: bool = False
    lost: bool = False
    ledger: StoreLedger | None = None
    #: the job its end claimed, run next by the same thread (``Worker._adopt_next``)
    next: _Running | None = None


class Worker:
    """Runs jobs from the store in ``slots`` concurrent threads (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        slots: int = 1,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = 0.1,
        worker_id: str | None = None,
        spare_idle_seconds: float | None = SPARE_IDLE_SECONDS,
    ) -> None:
        if slots < 1:
            raise ValueError("a worker needs at least one slot")
        self.settings = settings
        self.engine = engine
        self.slots = slots
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.worker_id = worker_id or _worker_id()
        _IN_THIS_PROCESS.add(self.worker_id)
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._processes = JobProcesses(
            settings, spare_idle_seconds, size=slots, grace=STOP_GRACE_SECONDS
        )
        #: the process id that ran each of this worker's latest jobs (its latest attempt's)
        self.job_process_ids: dict[str, int] = {}
        self._claims_outage = OutageLog(log, "claiming jobs")
        self._heartbeat_outage = OutageLog(log, "renewing job leases")
        self._sweep_outage = OutageLog(log, "sweeping crash debris")
        self._limits_outage = OutageLog(log, "checking run time limits")
        self._retention_outage = OutageLog(log, "applying retention")

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        job_traces.remove_orphan_folders()  # of job processes killed with an earlier run
        try:
            self._release_dead_local_leases()
        except Exception as exc:  # the store may be down: the leases then simply run out
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            log.warning(
                "could not check for jobs of a previous run of this service (%s: %s)",
                type(exc).__name__,
                cause[0] if cause else "",
            )
        loops = [
            (self._claim_loop, "claims"),
            (self._heartbeat_loop, "heartbeat"),
            (self._limits_loop, "limits"),
        ]
        if self.settings.debris_sweep_seconds > 0:
            loops.append((self._sweep_loop, "sweep"))
        if self.settings.retention.sweep_seconds > 0:
            loops.append((self._retention_loop, "retention"))
        for target, name in loops:
            thread = threading.Thread(target=target, name=f"scorecast-worker-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("worker %s started with %d job slot(s)", self.worker_id, self.slots)

    def _release_dead_local_leases(self) -> None:
        with session_scope(self.engine) as session:
            dead = [
                owner
                for owner in claims.running_lease_owners(session)
                if owner != self.worker_id and _local_worker_gone(owner)
            ]
            if dead:
                count = claims.expire_leases_of(
                    session, dead, utcnow(), "the service that ran it stopped"
                )
                log.info("%d job(s) of a stopped run of this service will run again", count)

    def wake(self) -> None:
        """Look for a claimable job now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, stop the running jobs and put them back in the queue."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            running = [r.thread for r in self._running.values() if r.thread is not None]
        for thread in running:
            thread.join(timeout)
        self._processes.close()
        _IN_THIS_PROCESS.discard(self.worker_id)

    @property
    def spare_process(self) -> JobProcess | None:
        """The job process kept warm for the next job, if any."""
        return self._processes.spare

    @property
    def running_jobs(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # --- loops ----------------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        busy = False  # the last claim found a job: claim again without checking first
        while not self._stop.is_set():
            claimed = None
            if len(self.running_jobs) < self.slots:
                try:
                    anything = busy
                    if not busy:  # a cheap read first: an idle worker takes no write lock
                        with session_scope(self.engine, deferred=True) as session:
                            anything = claims.has_claimable_job(session, utcnow())
                    if anything:
                        with session_scope(self.engine, immediate=True) as session:
                            claimed = self._claim_in(session, utcnow())
                    busy = claimed is not None
                    self._claims_outage.succeeded()
                except Exception as exc:
                    busy = False
                    self._claims_outage.failed(exc)
            if claimed is not None:
                self._launch(claimed)
                continue
            try:
                self._processes.let_idle_go()
            except Exception:
                log.exception("letting idle job processes go failed")
            if not self.running_jobs:
                try:
                    self._processes.keep_warm()
                except Exception:
                    log.exception("starting a job process failed; retrying")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _launch(self, ledger: StoreLedger) -> None:
        claim = ledger.claim
        running = _Running(claim, ledger=ledger)
        thread = threading.Thread(
            target=self._run, args=(running,), name=f"scorecast-job-{claim.job_id}", daemon=True
        )
        running.thread = thread
        with self._lock:
            self._running[claim.job_id] = running
        log.info("job %s: attempt %d claimed by %s", claim.job_id, claim.attempt, self.worker_id)
        thread.start()

    def _heartbeat_loop(self) -> None:
        interval = min(max(self.lease_seconds / 3, 0.2), 2.0)
        while not self._stop.wait(interval):
            try:
                self._heartbeat_once()
                self._heartbeat_outage.succeeded()
            except Exception as exc:  # the store is down: logged once, then summed up
                self._heartbeat_outage.failed(exc)

    def _heartbeat_once(self) -> None:
        """Renew the running jobs' leases; flag the jobs this worker no longer owns.

        A job is not owned any more once its own ledger ended it (the job process finished it
        and has not yet told this thread): that is normal and logged at debug level. Otherwise
        the lease was lost (another worker took the job): a warning.
        """
        with self._lock:
            current = list(self._running.values())
        if not current:
            return
        with session_scope(self.engine) as session:
            owned = claims.heartbeat(
                session, self.worker_id, [r.claim for r in current], utcnow(), self.lease_seconds
            )
        for running in current:
            job_id = running.claim.job_id
            if job_id not in owned:
                if running.lost:
                    pass
                elif running.ledger is not None and running.ledger.ending:
                    log.debug("job %s: ended by its job process", job_id)
                else:
                    log.warning("job %s: lease lost; stopping it", job_id)
                running.lost = True
            elif owned[job_id]:
                running.abort_requested = True

    def _sweep_loop(self) -> None:
        interval = self.settings.debris_sweep_seconds
        while True:
            try:
                debris_sweep.sweep(self.settings, self.engine)
                self._sweep_outage.succeeded()
            except Exception as exc:
                self._sweep_outage.failed(exc)
            if self._stop.wait(interval):
                return

    def _limits_loop(self) -> None:
        while not self._stop.wait(LIMITS_CHECK_SECONDS):
            try:
                with session_scope(self.engine, deferred=True) as session:
                    due = run_limits.limits_reached(session, utcnow())
                reached = []
                if due:
                    with session_scope(self.engine, immediate=True) as session:
                        reached = run_limits.enforce_run_limits(session, utcnow())
                self._limits_outage.succeeded()
            except Exception as exc:
                self._limits_outage.failed(exc)
                continue
            for limit in reached:
                log.warning("job %s: %s", limit.job_id, limit.event.value)

    def _retention_loop(self) -> None:
        while True:
            try:
                retention_sweep.sweep(self.settings, self.engine)
                self._retention_outage.succeeded()
            except Exception as exc:
                self._retention_outage.failed(exc)
            if self._stop.wait(self.settings.retention.sweep_seconds):
                return

    # --- one job --------------------------------------------------------------------------------

    def _run(self, running: _Running) -> None:
        """Run ``running``'s job, then the job its end claimed (``_claim_after``), if any,
        and so on: the slot passes from one job to the next without the claim loop."""
        try:
            following: _Running | None = running
            while following is not None:
                running = following
                following = None
                claim = running.claim
                log_format.job_id.set(claim.job_id)  # this thread's log lines name the job
                try:
                    self._supervise(running)
                except Exception:  # never let a job thread die silently
                    log.exception("job %s: unexpected error in the worker", claim.job_id)
                finally:
                    following = self._adopt_next(running)
                    with self._lock:  # the slot passes on: the claim loop never sees it free
                        self._running.pop(claim.job_id, None)
                if following is not None:
                    threading.current_thread().name = f"scorecast-job-{following.claim.job_id}"
                    log.info(
                        "job %s: attempt %d claimed by %s at the end of job %s",
                        following.claim.job_id,
                        following.claim.attempt,
                        self.worker_id,
                        claim.job_id,
                    )
                    if self._stop.is_set():  # claimed as the worker began to stop
                        self._put_back(following)
                        following = None
        finally:
            self._processes.job_ended()
            self._wake.set()

    def _adopt_next(self, running: _Running) -> _Running | None:
        """The job ``running``'s end claimed, among the running jobs from now on (its lease
        renewed by the heartbeat); None when its end claimed none."""
        after = running.ledger.next_job if running.ledger is not None else None
        if after is not None and running.next is None:
            running.next = _Running(after.claim, thread=threading.current_thread(), ledger=after)
            with self._lock:
                self._running[after.claim.job_id] = running.next
        return running.next

    def _claim_after(self, session: Session, now: datetime) -> StoreLedger | None:
        """The next job of the slot whose job ends in ``session``'s transaction (see
        ``StoreLedger.claim_next``); None once the worker stops."""
        if self._stop.is_set():
            return None
        return self._claim_in(session, now)

    def _claim_in(self, session: Session, now: datetime) -> StoreLedger | None:
        """Claim the next claimable job in ``session``'s transaction, and read its plan there
        too; its ledger, or None when no job is claimable."""
        claim = claims.claim_next_job(session, self.worker_id, now, self.lease_seconds)
        if claim is None:
            return None
        ledger = StoreLedger(self.settings, self.engine, claim)
        ledger.read_plan_in(session)
        return ledger

    def _put_back(self, running: _Running) -> None:
        try:
            with session_scope(self.engine) as session:
                claims.release_job(session, running.claim, "the worker shut down", utcnow())
        except Exception:  # its lease runs out and another worker runs it
            log.exception("job %s: putting it back in the queue failed", running.claim.job_id)
        with self._lock:
            self._running.pop(running.claim.job_id, None)

    def _supervise(self, running: _Running) -> None:
        """Run the job in a job process; pass the worker's signals on; settle a crash; give
        the process back for another job when it may run one (see ``_reusable``)."""
        claim = running.claim
        if running.ledger is None:
            running.ledger = StoreLedger(self.settings, self.engine, claim)
        running.ledger.claim_next = self._claim_after
        fresh = _runs_code_when_loaded(running.ledger)
        process = self._processes.take(fresh=fresh)
        self._note_process(claim.job_id, process.pid)
        sent: set[str] = set()
        stopping_since: float | None = None
        reusable = False
        try:
            try:
                process.assign(claim, running.ledger)
            except OSError:  # it died while it waited: the job gets a new one
                process.retire(STOP_GRACE_SECONDS)
                process = self._processes.take(fresh=True)
                self._note_process(claim.job_id, process.pid)
                process.assign(claim, running.ledger)
            while not process.wait(_SUPERVISE_SECONDS):
                wanted = {
                    name
                    for name, flag in (
                        ("abort", running.abort_requested),
                        ("lost", running.lost),
                        ("shutdown", self._stop.is_set()),
                    )
                    if flag
                }
                for name in wanted - sent:
                    process.signal(name)
                    sent.add(name)
                if wanted and stopping_since is None:
                    stopping_since = time.monotonic()
                if stopping_since is not None and (
                    time.monotonic() - stopping_since > STOP_GRACE_SECONDS
                ):
                    log.warning("job %s: its process does not stop; killing it", claim.job_id)
                    process.kill()
            self._adopt_next(running)  # before waiting for the process to be ready again
            if process.finished:
                # a job told to stop, or whose model ran code of its own, leaves its process
                # in a state no other job should see: it is not given another job
                reusable = not sent and not fresh and process.wait_ready(STOP_GRACE_SECONDS)
                return
            self._settle_crash(running, process.describe_exit(), sent)
        finally:
            if reusable and not self._stop.is_set():
                self._processes.give_back(process)
            elif process.alive and sent & {"abort", "lost"}:
                process.kill()
                process.close()
            else:
                process.retire(STOP_GRACE_SECONDS)

    def _note_process(self, job_id: str, pid: int) -> None:
        with self._lock:
            self.job_process_ids[job_id] = pid
            while len(self.job_process_ids) > _PROCESS_IDS_KEPT:
                del self.job_process_ids[next(iter(self.job_process_ids))]

    def _settle_crash(self, running: _Running, cause: str, sent: set[str]) -> None:
        """The job process ended without finishing its job: end or requeue the job here."""
        claim = running.claim
        if running.lost or "lost" in sent:
            return
        # the lines the job logged that wait for its next write (``store_ledger``)
        logs = running.ledger.pending_logs if running.ledger is not None else []
        if "shutdown" in sent and not running.abort_requested:
            with session_scope(self.engine) as session:
                claims.release_job(session, claim, "the worker shut down", utcnow(), logs=logs)
            return
        status, message = ("ABORTED", "aborted on request")
        if not running.abort_requested:
            status, message = "FAILED", cause
            log.error("job %s: %s", claim.job_id, cause)
        with session_scope(self.engine) as session:
            ended = claims.end_with_failure(session, claim, status, message, utcnow(), logs=logs)
        if ended:  # no attempt follows that would remove what the dead one staged
            output_cleanup.discard_dead_attempt(
                self.settings, StoreLedger(self.settings, self.engine, claim), claim
            )


def _runs_code_when_loaded(ledger: StoreLedger) -> bool:
    """Whether the job's model runs code of its file when loaded (pickle, MLflow): such a
    job gets a process that ran no other job, and its process runs no other job after it."""
    try:
        return ledger.plan().description.format in UNPICKLED_FORMATS
    except Exception:  # the job process reads the plan again and fails the job saying why
        return False


#: the ids of the workers of this process that have not stopped
_IN_THIS_PROCESS: set[str] = set()


def _worker_id() -> str:
    """``<host>:<pid>:<random>``: unique, and telling ``_local_worker_gone`` where it ran."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def _local_worker_gone(owner: str) -> bool:
    """Whether ``owner`` (a worker id) ran on this machine in a process that no longer exists.

    False when unsure (another machine, a process id now used by another process): its leases
    then run out as usual.
    """
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():  # an earlier process had this id, or a worker of this one
        return owner not in _IN_THIS_PROCESS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
