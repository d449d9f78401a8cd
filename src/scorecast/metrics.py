"""Prometheus metrics of one ``scorecast serve`` process (the official ``prometheus-client``).

Two kinds, both in one registry per app (``Metrics``):

- **From the store, read at each scrape** (``StoreCollector``): jobs by status and source, the
  queue depth, rows scored and failed and job durations over the jobs on record, fires on record
  by outcome. Every server sharing a store reports the same figures, so they stay right with
  any number of processes; sum nothing across servers, take any one.
- **Of this process** (counters and histograms it updates): HTTP requests by route and status
  with their latency, scheduler ticks, the lag of the fires this process's scheduler recorded,
  and its worker's busy slots. Sum these across servers.

Names start with ``scorecast_`` and follow Prometheus' conventions (``_total`` counters,
``_seconds`` units, base units only).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scorecast.store.db import session_scope
from scorecast.store.models import Job, ScheduleFire

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "MetricsMiddleware"]

#: Upper bounds of the job duration buckets, in seconds.
JOB_DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)
FIRE_LAG_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 3600.0)
_WAITING = (
    (Job.status == "INITIALIZING")
    & Job.queued.is_(True)
    & Job.intake_ready.is_(True)
    & Job.abort_requested.is_(False)
)


class Metrics:
    """The metrics of one app (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.store = StoreCollector(engine)
        self.registry.register(self.store)
        self.http_requests = Counter(
            "scorecast_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "scorecast_http_request_duration_seconds",
            "Time to answer an HTTP request (to the start of the response body).",
            ["method", "route"],
            registry=self.registry,
        )
        self.scheduler_ticks = Histogram(
            "scorecast_scheduler_tick_duration_seconds",
            "Time of one scheduler tick (finding and firing due definitions).",
            registry=self.registry,
        )
        self.fires = Counter(
            "scorecast_scheduler_fires",
            "Fires this process's scheduler recorded, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.fire_lag = Histogram(
            "scorecast_fire_lag_seconds",
            "Seconds from a fire's scheduled time to when the scheduler recorded it.",
            buckets=FIRE_LAG_BUCKETS,
            registry=self.registry,
        )

    def watch_worker(self, slots: int, busy: Callable[[], int]) -> None:
        """Report a worker's slots: ``busy()`` is asked at each scrape."""
        self.store.worker = (slots, busy)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return _generate_latest(self.registry)


class StoreCollector(Collector):
    """Figures read from the store at each scrape (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.worker: tuple[int, Callable[[], int]] | None = None

    def describe(self) -> list[Any]:
        return []  # collected fresh each scrape; nothing to describe ahead of time

    def collect(self) -> Iterator[Any]:
        with session_scope(self.engine, deferred=True) as session:
            by_status = session.execute(
                select(Job.status, Job.source, func.count()).group_by(Job.status, Job.source)
            ).all()
            waiting = session.scalar(select(func.count()).where(_WAITING)) or 0
            scored, failed = session.execute(
                select(
                    func.coalesce(func.sum(Job.scored_rows), 0),
                    func.coalesce(func.sum(Job.failed_rows), 0),
                )
            ).one()
            durations = _duration_buckets(session, self.engine)
            fires = session.execute(
                select(ScheduleFire.outcome, func.count()).group_by(ScheduleFire.outcome)
            ).all()
        jobs = GaugeMetricFamily(
            "scorecast_jobs", "Jobs on record, by status and source.", labels=["status", "source"]
        )
        for status, source, count in by_status:
            jobs.add_metric([status, source], count)
        yield jobs
        yield GaugeMetricFamily(
            "scorecast_queue_depth", "Jobs waiting for a worker (claimable now).", value=waiting
        )
        yield CounterMetricFamily(
            "scorecast_rows_scored", "Rows scored by the jobs on record.", value=int(scored)
        )
        yield CounterMetricFamily(
            "scorecast_rows_failed", "Rows that failed in the jobs on record.", value=int(failed)
        )
        yield durations
        records = GaugeMetricFamily(
            "scorecast_fire_records", "Fires on record, by outcome.", labels=["outcome"]
        )
        for outcome, count in fires:
            records.add_metric([outcome], count)
        yield records
        if self.worker is not None:
            slots, busy = self.worker
            yield GaugeMetricFamily("scorecast_worker_slots", "Job slots of this worker.", slots)
            yield GaugeMetricFamily(
                "scorecast_worker_slots_busy", "Job slots of this worker running a job.", busy()
            )


def _duration_buckets(session: Any, engine: Engine) -> HistogramMetricFamily:
    """Durations of the finished jobs on record, in Prometheus' cumulative buckets."""
    if engine.dialect.name == "sqlite":
        seconds = (func.julianday(Job.finished) - func.julianday(Job.started)) * 86400.0
    else:
        seconds = func.extract("epoch", Job.finished - Job.started)
    bounds = [*JOB_DURATION_BUCKETS]
    columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in bounds]
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(seconds), 0.0), *columns).where(
            Job.started.is_not(None), Job.finished.is_not(None)
        )
    ).one()
    count, total = int(row[0]), float(row[1])
    buckets = [(str(bound), int(value or 0)) for bound, value in zip(bounds, row[2:], strict=True)]
    buckets.append(("+Inf", count))
    return HistogramMetricFamily(
        "scorecast_job_duration_seconds",
        "Duration of the finished jobs on record (start to end).",
        buckets=buckets,
        sum_value=total,
    )


class MetricsMiddleware:
    """Counts every HTTP request by method, route template (never the raw path: ids would
    make a series each) and status, with its latency."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = False

        async def observe(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                self._record(scope, message["status"], started)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        except Exception:
            if not answered:
                self._record(scope, 500, started)
            raise

    def _record(self, scope: Scope, status: int, started: float) -> None:
        template = route_template(scope)
        method = scope.get("method", "GET")
        self.metrics.http_requests.labels(method, template, str(status)).inc()
        self.metrics.http_latency.labels(method, template).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's full template (``/api/v2/batchPredictions/{job_id}/``), or
    ``unmatched``. An included router's route knows its path without the router's prefix, so
    the prefix is what the request path has before the route's part."""
    route = scope.get("route")
    relative = getattr(route, "path", None)
    if not isinstance(relative, str):
        return "unmatched"
    path = str(scope.get("path", ""))
    try:
        rendered = str(getattr(route, "path_format", relative)).format(
            **scope.get("path_params", {})
        )
    except (KeyError, IndexError, ValueError):
        return relative
    if rendered and path.endswith(rendered):
        return path[: len(path) - len(rendered)] + relative
    return relative
