"""One timeline of scheduling policies on a real ``scorecast serve``, for
``test_overlap_catch_up_e2e``: a downtime made real in the store, then slow runs that overlap.

``run_timeline(home, url, files)`` drives one server (one store) and returns what it recorded
(``Timeline``); the test runs it for SQLite and PostgreSQL at the same time, so both wait for
the same two minute boundaries.

1. **Before the downtime**: hourly definitions (at a minute half an hour away, so none fires
   on its own while the test runs) with several ``catchUp`` settings, and an every-minute
   definition that stays disabled. A webhook channel gets the skipped and auto-disabled events.
2. **Downtime**: the server stops; every time the scheduler knows where it left off by (the
   definitions' next fire time and due time, the scheduler heartbeats) and the definitions'
   own times move ``DOWNTIME`` back, as if the server had stopped that long ago. It restarts;
   its first tick decides the missed fires.
3. **Overlap**: the disabled definition is enabled; four every-minute definitions (one per
   ``overlapPolicy``) read a named pipe nobody writes, so every run of theirs hangs until the
   test releases it; each gets a manual run first, then is enabled, and the test waits for the
   first two scheduled fires of each. An always failing definition is auto-disabled at its
   first fire meanwhile.
4. Everything is disabled and recorded; the hanging runs are aborted and their pipes opened
   for writing once, so that they end; the server stops.

Nothing waits on a fixed sleep: every step polls the API for a condition, with a generous
deadline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from serving import ServeProcess, patients_csv, register_demo_model
from sqlalchemy import select

from notification_receivers import Received, webhook_receiver
from scorecast.store.db import create_engine_for, session_scope
from scorecast.store.models import JobDefinition, SchedulerHeartbeat

#: how long ago the server "stopped": whole hours, so the hourly fire times stay on schedule
DOWNTIME = timedelta(hours=150)
SECRET = "whsec_QmFzZTY0IGlzIG5vdCBlbmNyeXB0aW9uIQ=="
EVENTS = ("batch_predictions.scheduler.skipped", "batch_predictions.scheduler.auto_disabled")
TERMINAL = ("COMPLETED", "ABORTED", "FAILED")
#: per condition; two minute boundaries plus a loaded machine fit well within it
DEADLINE = 300.0
#: catchUp settings by key (None: the default, windowSeconds 3600 and maxRuns 1)
CATCH_UPS: dict[str, dict[str, Any] | None] = {
    "default": None,
    "four-hours-two-runs": {"windowSeconds": 4 * 3600, "maxRuns": 2},
    "window-zero": {"windowSeconds": 0, "maxRuns": 5},
    "max-runs-zero": {"windowSeconds": 86400, "maxRuns": 0},
}
OVERLAPS = ("skip", "queue", "cancelRunning", "allow")


def every_minute() -> dict[str, Any]:
    return {"minute": ["*"], "hour": ["*"], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}


def wire_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Timeline:
    """What one server recorded (API bodies as they were answered)."""

    catch_up_ids: dict[str, str] = field(default_factory=dict)
    #: the first hourly fire time after the definitions were created (before the shift)
    first_hourly: datetime | None = None
    catch_up_fires: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    catch_up_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    dormant_enabled: dict[str, Any] = field(default_factory=dict)
    dormant_enabled_at: datetime | None = None
    dormant_fires: list[dict[str, Any]] = field(default_factory=list)
    overlap_ids: dict[str, str] = field(default_factory=dict)
    manual_jobs: dict[str, str] = field(default_factory=dict)
    #: each overlap definition's first scheduled fire time (from its enabling PATCH)
    first_fire: dict[str, datetime] = field(default_factory=dict)
    overlap_fires: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: every job of each overlap definition, while the runs hang (the allow runs overlap)
    overlap_jobs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    failing: dict[str, Any] = field(default_factory=dict)
    deliveries: list[Received] = field(default_factory=list)
    files: Path = Path()
    log: str = ""


def until(http: httpx.Client, server: ServeProcess, what: str, check: Callable[[], Any]) -> Any:
    """Call ``check`` until it returns something true; that value (AssertionError after
    ``DEADLINE`` seconds, with the server's output)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not reached\n{server.output()}"
        time.sleep(0.5)


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def _fires(http: httpx.Client, definition_id: str) -> list[dict[str, Any]]:
    body = _ok(http.get(f"batchPredictionJobDefinitions/{definition_id}/fires/?limit=1000"))
    fires: list[dict[str, Any]] = body["data"]
    assert len(fires) < 1000, "more fires than one page"
    return fires


def _job(http: httpx.Client, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = _ok(http.get(f"batchPredictions/{job_id}/"))
    return job


def _define(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = _ok(http.post("batchPredictionJobDefinitions/", json=body))
    return definition


def _patch(http: httpx.Client, definition_id: str, body: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = _ok(
        http.patch(f"batchPredictionJobDefinitions/{definition_id}/", json=body)
    )
    return answer


def _subscribe(http: httpx.Client, url: str) -> None:
    channel = _ok(
        http.post(
            "notificationChannels/",
            json={
                "name": "hook",
                "channelType": "Webhook",
                "payloadUrl": url,
                "secretToken": SECRET,
            },
        )
    )
    for event in EVENTS:
        _ok(
            http.post(
                "notificationPolicies/",
                json={"name": event, "channelId": channel["id"], "eventType": event},
            )
        )


def move_back(url: str, span: timedelta) -> None:
    """Make a downtime of ``span`` out of a stopped server's store: the scheduler's heartbeats
    and the definitions' times (where the scheduler left off) move back by ``span``."""
    engine = create_engine_for(url)
    try:
        with session_scope(engine) as session:
            for definition in session.scalars(select(JobDefinition)):
                definition.created -= span
                definition.updated -= span
                if definition.next_scheduled_run_time is not None:
                    definition.next_scheduled_run_time -= span
                if definition.next_due_at is not None:
                    definition.next_due_at -= span
                if definition.enabled_since is not None:
                    definition.enabled_since -= span
            beats = list(session.scalars(select(SchedulerHeartbeat)))
            assert beats, "the scheduler recorded no heartbeat before the downtime"
            for beat in beats:
                beat.since -= span
                beat.last_seen -= span
    finally:
        engine.dispose()


def run_timeline(home: Path, url: str, files: Path) -> Timeline:
    """Drive one server through the timeline of the module docstring; what it recorded."""
    env = {
        "SCORECAST_FILE_ROOTS": str(files),
        "SCORECAST_ALLOW_PRIVATE_ENDPOINTS": "1",
        "SCORECAST_NOTIFICATION_RETRY_SECONDS": "1",
    }
    found = Timeline(files=files)
    source = patients_csv(files / "patients.csv")
    with webhook_receiver(SECRET) as receiver:
        server = ServeProcess(home, url, "--workers", "10", env=env).start()
        try:
            deployment = register_demo_model(server)
            with server.http() as http:
                _subscribe(http, receiver.url)
                dormant = _before_downtime(http, found, deployment, source)
            server.stop()
            move_back(url, DOWNTIME)
            server.start()
            with server.http() as http:
                _after_restart(http, server, found)
                _enable_dormant(http, found, dormant)
                with _hanging_runs(http, server, found, deployment, files):
                    _overlap(http, server, found, deployment, dormant)
                _caught_up_jobs(http, server, found)
                found.deliveries = _deliveries(found, receiver)
        finally:
            server.stop()
            found.log = server.output()
    return found


def _before_downtime(http: httpx.Client, found: Timeline, deployment: str, source: Path) -> str:
    minute = (datetime.now(UTC).minute + 30) % 60
    hourly = {**every_minute(), "minute": [minute]}
    for key, catch_up in CATCH_UPS.items():
        body: dict[str, Any] = {
            "name": f"catch-up {key}",
            "enabled": True,
            "schedule": hourly,
            "deploymentId": deployment,
            "intakeSettings": {"type": "filesystem", "url": source.as_uri()},
            "outputSettings": {
                "type": "filesystem",
                "url": source.parent.as_uri() + f"/{key}-{{scheduled_time}}.csv",
            },
            "overlapPolicy": "queue",
        }
        if catch_up is not None:
            body["catchUp"] = catch_up
        created = _define(http, body)
        found.catch_up_ids[key] = created["id"]
        found.first_hourly = wire_time(created["nextScheduledRunTime"])
    dormant = _define(
        http,
        {
            "name": "disabled during the downtime",
            "enabled": False,
            "schedule": every_minute(),
            "deploymentId": deployment,
            "intakeSettings": {"type": "filesystem", "url": source.as_uri()},
            "outputSettings": {"type": "filesystem", "url": (source.parent / "d.csv").as_uri()},
        },
    )
    return str(dormant["id"])


def _after_restart(http: httpx.Client, server: ServeProcess, found: Timeline) -> None:
    assert found.first_hourly is not None
    expected = found.first_hourly.strftime("%Y-%m-%dT%H:%M:%S")
    for key, definition_id in found.catch_up_ids.items():
        until(
            http,
            server,
            f"catch-up {key} decided",
            lambda d=definition_id: _ok(http.get(f"batchPredictionJobDefinitions/{d}/"))[
                "nextScheduledRunTime"
            ].startswith(expected),
        )
        found.catch_up_fires[key] = _fires(http, definition_id)


def _caught_up_jobs(http: httpx.Client, server: ServeProcess, found: Timeline) -> None:
    """The jobs of the caught-up fires, once they ended (they ran while the overlap runs hung)."""
    for fires in found.catch_up_fires.values():
        for job_id in (job_id for fire in fires for job_id in fire["jobIds"]):
            found.catch_up_jobs[job_id] = until(
                http,
                server,
                f"caught-up job {job_id} ends",
                lambda j=job_id: (job := _job(http, j))["status"] in TERMINAL and job,
            )


def _enable_dormant(http: httpx.Client, found: Timeline, dormant: str) -> None:
    found.dormant_enabled_at = datetime.now(UTC)
    found.dormant_enabled = _patch(http, dormant, {"enabled": True})


@contextmanager
def _hanging_runs(
    http: httpx.Client, server: ServeProcess, found: Timeline, deployment: str, files: Path
) -> Iterator[None]:
    """The overlap definitions, each reading its own named pipe, disabled; released (every
    definition disabled, every run aborted and its pipe opened) when the block ends."""
    pipes = {policy: files / f"{policy}.pipe" for policy in OVERLAPS}
    for policy, pipe in pipes.items():
        os.mkfifo(pipe)  # opening it for reading waits for a writer: the test is the writer
        created = _define(
            http,
            {
                "name": f"overlap {policy}",
                "enabled": False,
                "schedule": every_minute(),
                "overlapPolicy": policy,
                "deploymentId": deployment,
                "intakeSettings": {"type": "filesystem", "url": pipe.as_uri()},
                "outputSettings": {
                    "type": "filesystem",
                    "url": files.as_uri() + f"/{policy}-{{job_id}}.csv",
                },
            },
        )
        found.overlap_ids[policy] = created["id"]
    try:
        yield
    finally:
        _release(http, server, found, list(pipes.values()))


def _release(http: httpx.Client, server: ServeProcess, found: Timeline, pipes: list[Path]) -> None:
    with suppress(httpx.HTTPError):
        definitions = _ok(http.get("batchPredictionJobDefinitions/?limit=100"))["data"]
        for definition in definitions:
            if definition["enabled"]:
                _patch(http, definition["id"], {"enabled": False})

    def ended() -> bool:
        jobs = _ok(http.get("batchPredictions/?limit=1000"))["data"]
        going = [job for job in jobs if job["status"] not in TERMINAL]
        for job in going:
            if job["status"] == "INITIALIZING":  # a queued run: it never starts
                http.delete(f"batchPredictions/{job['id']}/")
        for pipe in pipes:
            # a writer that comes and goes: the runs waiting to read the pipe read an empty
            # input and end (ENXIO: nobody is waiting to read it right now)
            with suppress(OSError):
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        return not going

    until(http, server, "every hanging run ends", ended)


def _overlap(
    http: httpx.Client,
    server: ServeProcess,
    found: Timeline,
    deployment: str,
    dormant: str,
) -> None:
    failing = _define(
        http,
        {
            "name": "always failing",
            "enabled": True,
            "schedule": every_minute(),
            "deploymentId": deployment,
            "intakeSettings": {"type": "filesystem", "url": (found.files / "gone.csv").as_uri()},
            "outputSettings": {"type": "filesystem", "url": (found.files / "no.csv").as_uri()},
            "autoDisableAfterFailures": 1,
        },
    )
    for policy, definition_id in found.overlap_ids.items():
        manual = _ok(
            http.post(
                "batchPredictions/fromJobDefinition/", json={"jobDefinitionId": definition_id}
            )
        )
        found.manual_jobs[policy] = manual["id"]
    for policy, job_id in found.manual_jobs.items():
        until(http, server, f"{policy}: manual run hangs", lambda j=job_id: _running(http, j))
    for policy, definition_id in found.overlap_ids.items():
        enabled = _patch(http, definition_id, {"enabled": True})
        found.first_fire[policy] = wire_time(enabled["nextScheduledRunTime"])

    def two_fires_each() -> bool:
        for policy, definition_id in found.overlap_ids.items():
            times = {wire_time(f["scheduledTime"]) for f in _fires(http, definition_id)}
            first = found.first_fire[policy]
            if not {first, first + timedelta(minutes=1)} <= times:
                return False
        return True

    until(http, server, "two scheduled fires of each overlap definition", two_fires_each)
    for definition_id in (*found.overlap_ids.values(), dormant):
        _patch(http, definition_id, {"enabled": False})
    found.failing = until(
        http,
        server,
        "the failing definition is auto-disabled",
        lambda: (
            (d := _ok(http.get(f"batchPredictionJobDefinitions/{failing['id']}/")))[
                "disabledReason"
            ]
            and d
        ),
    )
    found.dormant_fires = _fires(http, dormant)
    for policy, definition_id in found.overlap_ids.items():
        found.overlap_fires[policy] = _fires(http, definition_id)
    _settle_overlap_jobs(http, server, found)


def _running(http: httpx.Client, job_id: str) -> bool:
    return bool(_job(http, job_id)["status"] == "RUNNING")


def _settle_overlap_jobs(http: httpx.Client, server: ServeProcess, found: Timeline) -> None:
    """Wait until the overlap definitions' jobs are where their policy puts them while the
    runs hang: cancelled ones ABORTED, every other started one RUNNING; record them."""
    for policy in OVERLAPS:
        fires = found.overlap_fires[policy]
        job_ids = [found.manual_jobs[policy], *(j for f in reversed(fires) for j in f["jobIds"])]
        newest = fires[0]["jobId"]

        found.overlap_jobs[policy] = until(
            http,
            server,
            f"{policy}: runs settle",
            lambda p=policy, ids=job_ids, keep=newest: _settled(http, p, ids, keep),
        )


def _settled(
    http: httpx.Client, policy: str, job_ids: list[str], newest: str
) -> dict[str, dict[str, Any]] | None:
    jobs = {job_id: _job(http, job_id) for job_id in job_ids}
    if policy == "cancelRunning":
        wanted = {j: "RUNNING" if j == newest else "ABORTED" for j in job_ids}
    elif policy == "queue":
        wanted = {job_ids[0]: "RUNNING"}  # the manual run; the queued one waits
    else:
        wanted = dict.fromkeys(job_ids, "RUNNING")
    return jobs if all(jobs[j]["status"] == status for j, status in wanted.items()) else None


def _deliveries(found: Timeline, receiver: Any) -> list[Received]:
    every_fire = [
        *(f for fires in found.overlap_fires.values() for f in fires),
        *(f for fires in found.catch_up_fires.values() for f in fires),
        *found.dormant_fires,
    ]
    skipped = sum(1 for fire in every_fire if fire["outcome"] == "skipped")
    received: list[Received] = receiver.wait_for(skipped + 1)
    return received
