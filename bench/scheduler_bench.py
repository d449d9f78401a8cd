"""The scheduler firing N definitions due on the same moment, against a set-based ceiling.

For each store (SQLite file, PostgreSQL database) and each N:

1. N enabled definitions (localFile intake, so their jobs wait for uploads and no worker
   runs) are written directly, all due on one moment; the store is settled as it would be long
   after they were written (PostgreSQL: ``VACUUM (ANALYZE)`` and ``CHECKPOINT``, so no
   checkpoint falls in the measured seconds; SQLite: the WAL checkpointed). One scheduler (a
   separate process, ``--child``) is started a few seconds before its clock reaches the due
   moment (its clock is the real one shifted, so that however long the rows took to write,
   the schedulers have started and are idle when the moment comes; the bench stops if one
   started after it). Reported: fire lag p50/p99 (``fired_at - scheduledTime`` of the fire
   rows), the time from the due moment until the last fire row was committed (each scheduler
   notes when it heard of its last fire, right after that batch's commit), and how many fires
   were recorded missed; and the CPU spent from the due moment until the parent counted every
   fire (the schedulers', PostgreSQL's processes', the machine's, and the share of its cores
   that was busy), so that what bounds a run shows: one scheduler keeps about one core busy.
2. The ceiling, in the same run on a fresh copy of the same rows, settled the same way: one
   transaction of set-based ``INSERT … SELECT`` statements writing the same jobs, job logs
   (naming the acting user, as the scheduler's do) and fire rows (with their lateness) and
   setting the same fields of the definitions (what the scheduler writes, with no decision
   made).
3. PostgreSQL only: the same with two scheduler processes, against one (``--repeat N``: the
   pair N times, in turns one first and two first, each on a fresh copy of the rows; each
   turn's ratio and their median), so that a drift of the shared machine's speed falls on
   both; then one scheduler firing in two lanes (``SCORECAST_SCHEDULER_LANES=2``: two
   threads, each taking batches as a scheduler of its own would).
4. SQLite only (``--reads``, default on for the first count): reads while the scheduler fires.
   A real ``scorecast serve --roles api,scheduler`` process (the embedded default: the API and
   the scheduler in one process, one SQLite file) fires N definitions due on one moment while a
   reader in this process sends ``GET batchPredictions/{id}/`` and ``GET batchPredictions/``
   (a page of 20 jobs) back to back; their p50/p99 while the fires are written (from the due
   moment until the last fire row is committed), against the same reads before it.

The schedulers size their batches themselves (``runtime/batch_sizing``) unless ``--batch N``.

Usage: python bench/scheduler_bench.py [--counts 10000,100000] [--stores sqlite,postgresql]
       [--batch 0] [--reads 10000] [--repeat 1] [--pg postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from _serve import CpuSpent, Serve
from sqlalchemy import Engine, create_engine, func, insert, select, text

from scorecast.home_layout import database_file
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.models import (
    Job,
    ScheduleFire,
    User,
)
from scorecast.store.types import ID_SEQUENCE_SPAN, new_id
from scorecast.testing.due_definitions import add_due_definitions

LEAD = timedelta(seconds=4)  # definitions are due this long after the schedulers start
#: How often the bench counts the fire rows, to know when to stop the schedulers (one count
#: whatever their number). "All committed" is not measured by counting (a count of a growing
#: table 20 times a second took the database's time from the schedulers): each scheduler child
#: notes when it heard of its last fire, which its scheduler reports right after the batch's
#: commit.
POLL = 0.5


def fresh_store(store: str, pg: str, name: str, folder: Path) -> str:
    if store == "sqlite":
        return f"sqlite:///{folder / (name + '.db')}"
    admin = create_engine(create_engine_for(f"{pg}/postgres").url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{pg}/{name}"


def drop_store(store: str, pg: str, name: str) -> None:
    if store == "postgresql":
        admin = create_engine(create_engine_for(f"{pg}/postgres").url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fires_committed(engine: Engine) -> int:
    with session_scope(engine, deferred=True) as session:
        return session.scalar(select(func.count()).select_from(ScheduleFire)) or 0


def reads_while_firing(home: Path, count: int) -> dict[str, list[float]]:
    """Seconds of each read, by "<read> alone" and "<read> while firing" (see the docstring)."""
    with Serve(home, "--roles", "api,scheduler") as serve:
        engine = create_engine_for(f"sqlite:///{database_file(home)}")
        with session_scope(engine) as session:
            org, user = session.execute(select(User.org_id, User.id)).one()
        due = (datetime.now(UTC) + timedelta(seconds=30)).replace(microsecond=0)
        deployment = add_due_definitions(engine, count, due, (org, user))
        job = new_id()
        with session_scope(engine) as session:
            session.execute(
                insert(Job).values(
                    id=job,
                    org_id=org,
                    deployment_id=deployment,
                    spec={"deploymentId": deployment, "intakeSettings": {"type": "localFile"}},
                    source="api",
                    status="COMPLETED",
                    status_details="Job completed",
                    created_by=user,
                    finished=datetime.now(UTC),
                )
            )
        samples: list[tuple[float, str, float]] = []  # (started, read, seconds)
        stop = threading.Event()

        def read() -> None:
            reads = {"GET batchPredictions/{id}/": f"batchPredictions/{job}/"}
            reads["GET batchPredictions/?limit=20"] = "batchPredictions/?limit=20"
            with serve.http() as http:
                while not stop.is_set():
                    for name, path in reads.items():
                        started = time.time()
                        response = http.get(path)
                        samples.append((started, name, time.time() - started))
                        response.raise_for_status()

        reader = threading.Thread(target=read)
        reader.start()
        try:
            while fires_committed(engine) < count:
                time.sleep(0.2)
            committed = time.time()
        finally:
            stop.set()
            reader.join()
            engine.dispose()
    start = due.timestamp()
    found: dict[str, list[float]] = {}
    for started, name, seconds in samples:
        if started < start - 1:
            found.setdefault(f"{name} alone", []).append(seconds)
        elif start <= started <= committed:
            found.setdefault(f"{name} while firing", []).append(seconds)
    return found


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"


def run_schedulers(
    url: str, count: int, schedulers: int, batch: int, lanes: int = 1
) -> dict[str, Any]:
    engine = create_engine_for(url)
    due = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    add_due_definitions(engine, count, due)
    settle(engine)
    # the schedulers' clocks reach ``due`` LEAD from now, however long the rows took to write
    arrives = datetime.now(UTC) + LEAD
    children = [
        subprocess.Popen(
            [
                *(sys.executable, __file__, "--child", url, "--batch", str(batch)),
                *("--lanes", str(lanes)),
                *("--due", due.isoformat(), "--arrives", arrives.isoformat()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(schedulers)
    ]
    # one count of the fire rows every POLL seconds whatever the number of schedulers; then
    # each child is told to stop, and says when it heard of its last fire (right after that
    # batch's commit). The CPU spent is read from the due moment on.
    time.sleep(max(0.0, (arrives - datetime.now(UTC)).total_seconds()))
    spent = CpuSpent([child.pid for child in children])
    wal_before = _wal(engine)
    while fires_committed(engine) < count:
        time.sleep(POLL)
    cpu = spent.read()
    reports = [json.loads(child.communicate("stop\n", timeout=600)[0]) for child in children]
    late = [r["started"] for r in reports if datetime.fromisoformat(r["started"]) > due]
    if late:  # its start-up would count in the figures: say so rather than print them
        raise SystemExit(f"a scheduler started after the due moment ({late}); raise LEAD")
    heard = [datetime.fromisoformat(r["last"]) for r in reports if r["last"]]
    if not heard:
        raise SystemExit("no scheduler heard of any fire")
    committed = max(heard)
    # read once the children are gone: a backend reports its counts as it ends at the latest
    wal_after = _wal(engine)
    with session_scope(engine) as session:
        rows = session.execute(
            select(ScheduleFire.fired_at, ScheduleFire.scheduled_time, ScheduleFire.outcome)
        ).all()
    engine.dispose()
    lags = sorted((fired - scheduled).total_seconds() for fired, scheduled, _ in rows)
    return {
        "p50": statistics.median(lags),
        "p99": lags[int(len(lags) * 0.99) - 1],
        "total": (committed - due).total_seconds(),
        "missed": sum(1 for *_, outcome in rows if outcome == "missed"),
        "fires": len(rows),
        "cpu": cpu,
        "wal": None if wal_before is None or wal_after is None else wal_after.since(wal_before),
    }


def _wal(engine: Engine) -> Wal | None:
    """PostgreSQL's counts of write-ahead log so far (the whole server's), else None."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        written, full, setting = connection.execute(
            text(
                "SELECT wal_bytes, wal_buffers_full, current_setting('wal_buffers')"
                " FROM pg_stat_wal"
            )
        ).one()
    return Wal(int(written), int(full), str(setting))


class Wal(NamedTuple):
    """Write-ahead log written (bytes), the times a transaction found the log's buffers full
    and wrote them out itself (``wal_buffers_full``), and the buffers' size (``wal_buffers``,
    see docs/operations/deployment.md)."""

    written: int
    buffers_full: int
    wal_buffers: str

    def since(self, before: Wal) -> Wal:
        """What was written between ``before`` and this reading."""
        return Wal(
            self.written - before.written, self.buffers_full - before.buffers_full, self.wal_buffers
        )


#: (a new job id in ``store.types.new_id``'s layout: the second, a sequence number, then 40
#: random bits; now)
_CEILING_SQL = {
    "sqlite": (
        "printf('%08x', CAST(strftime('%s', 'now') AS INTEGER))"
        f" || printf('%06x', row_number() OVER (ORDER BY d.id) % {ID_SEQUENCE_SPAN})"
        " || lower(hex(randomblob(5)))",
        "CURRENT_TIMESTAMP",
    ),
    "postgresql": (
        "lpad(to_hex(floor(extract(epoch FROM clock_timestamp()))::bigint), 8, '0')"
        f" || lpad(to_hex(row_number() OVER (ORDER BY d.id) % {ID_SEQUENCE_SPAN}), 6, '0')"
        " || substr(md5(random()::text || d.id), 1, 10)",
        "now()",
    ),
}


def ceiling(url: str, store: str, count: int) -> float:
    """Seconds for one transaction writing the same rows set-based (no decisions made)."""
    engine = create_engine_for(url)
    due = datetime.now(UTC) - timedelta(seconds=1)
    add_due_definitions(engine, count, due)
    settle(engine)
    new_job_id, now = _CEILING_SQL[store]
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, org_id, deployment_id, definition_id, spec, source, status,"
                " status_details, queued, abort_requested, intake_ready, scheduled_time,"
                " created_by, created, percentage_completed, scored_rows, failed_rows,"
                " skipped_rows, attempt, results_deleted, after_previous, fire_attempt,"
                " slow_reported)"
                f" SELECT {new_job_id}, d.org_id, d.deployment_id, d.id, d.job_spec, 'scheduled',"
                " 'INITIALIZING', 'Job submitted at 2026-01-01 00:00:00; waiting for the upload of"
                " the input file', true, false, false, d.next_scheduled_run_time,"
                f" d.updated_by, {now}, 0, 0, 0, 0, 0, false, false, 1, false"
                " FROM job_definitions d"
                " WHERE d.enabled AND d.next_scheduled_run_time <= :now"
            ),
            {"now": datetime.now(UTC)},
        )
        connection.execute(
            text(
                "INSERT INTO job_logs (job_id, created, message) SELECT j.id, j.created,"
                " 'Job created by ' || u.username || ' by the scheduler at 2026-01-01 00:00:00'"
                " FROM jobs j JOIN users u ON u.id = j.created_by"
            )
        )
        connection.execute(
            text(
                "INSERT INTO schedule_fires (definition_id, scheduled_time, fired_at, outcome,"
                f" job_id, lateness_seconds) SELECT definition_id, scheduled_time, {now},"
                " 'started', id, 1.5 FROM jobs"
            )
        )
        connection.execute(
            text(
                "UPDATE job_definitions SET next_scheduled_run_time = :next, next_due_at = NULL,"
                " last_scheduled_run_time = next_scheduled_run_time,"
                f" last_started_job_status = 'INITIALIZING', last_started_job_time = {now}"
                " WHERE enabled AND next_scheduled_run_time <= :now"
            ),
            {"next": due + timedelta(days=1), "now": datetime.now(UTC)},
        )
    engine.dispose()
    return time.perf_counter() - started


def settle(engine: Engine) -> None:
    """The store as it would be long after its definitions were written: on PostgreSQL
    vacuumed and analyzed (autovacuum's work) and checkpointed, so that no checkpoint falls in
    the measured seconds; on SQLite the write-ahead log checkpointed."""
    if engine.dialect.name == "sqlite":
        engine.dispose()  # its pooled connections would keep the log from being truncated
        with closing(sqlite3.connect(str(engine.url.database))) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
        connection.exec_driver_sql("CHECKPOINT")


def child(url: str, batch: int, lanes: int, *, due: str, arrives: str) -> None:
    """One scheduler process: ticks until a line on its standard input says stop. Its clock
    reads ``due`` at the real moment ``arrives`` (the definitions were written long before
    it)."""
    from scorecast.runtime.scheduler import Scheduler

    engine = create_engine_for(url)
    offset = datetime.fromisoformat(due) - datetime.fromisoformat(arrives)
    heard: dict[str, Any] = {"last": None}

    def clock() -> datetime:
        return datetime.now(UTC) + offset

    def on_fire(fire: object) -> None:  # called after the fire's batch committed
        heard["last"] = clock().isoformat()

    scheduler = Scheduler(
        engine, batch_size=batch or None, max_sleep=0.2, lanes=lanes, on_fire=on_fire, clock=clock
    )
    heard["started"] = clock().isoformat()
    scheduler.start()
    sys.stdin.readline()
    scheduler.stop()
    engine.dispose()
    print(json.dumps(heard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10000,100000")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=0, help="0: batches sized by the scheduler")
    parser.add_argument("--reads", type=int, default=10_000, help="0: no reads phase")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--child")
    parser.add_argument("--lanes", type=int, default=1, help="a child's scheduler lanes")
    parser.add_argument(
        "--repeat", type=int, default=1, help="PostgreSQL: one and two schedulers, this many times"
    )
    parser.add_argument("--due", help="a child's: the moment the definitions are due")
    parser.add_argument("--arrives", help="a child's: the real moment its clock reads --due")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.batch, args.lanes, due=args.due, arrives=args.arrives)
        return
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        if args.reads and "sqlite" in args.stores:
            found = reads_while_firing(Path(folder) / "reads", args.reads)
            for name, samples in sorted(found.items()):
                print(
                    f"sqlite {args.reads:>7} reads, {name}: {_ms(samples)} ({len(samples)} reads)"
                )
        for store in args.stores.split(","):
            for count in (int(c) for c in args.counts.split(",")):
                name = f"sched_bench_{os.getpid()}_{count}"
                setups = [(1, 1, "one scheduler")]
                if store == "postgresql":
                    pair = [(1, 1, "one scheduler"), (2, 1, "two schedulers")]
                    # the pair again and again, in turns (one first, then two first), so that
                    # the machine's drift falls on both; lanes once, last
                    setups = [
                        *(
                            setup
                            for turn in range(args.repeat)
                            for setup in (pair if turn % 2 == 0 else pair[::-1])
                        ),
                        (1, 2, "one scheduler, 2 lanes"),
                    ]
                totals: dict[int, list[float]] = {1: [], 2: []}
                for schedulers, lanes, label in setups:
                    url = fresh_store(store, args.pg, name, Path(folder))
                    migrate(url)
                    result = run_schedulers(url, count, schedulers, args.batch, lanes)
                    drop_store(store, args.pg, name)
                    if lanes == 1:
                        totals[schedulers].append(result["total"])
                    print(
                        f"{store} {count:>7} {label}: lag p50 {result['p50']:.2f} s, "
                        f"p99 {result['p99']:.2f} s, all committed {result['total']:.2f} s "
                        f"after due, missed {result['missed']} of {result['fires']}"
                    )
                    cpu = result["cpu"]
                    database = ""
                    if store == "postgresql":
                        database = f"PostgreSQL {cpu['postgresql']:.1f} s, "
                    print(
                        f"{'':>{len(store) + 8}} CPU from due until counted: schedulers "
                        f"{cpu['processes']:.1f} s, {database}the machine {cpu['machine']:.1f} s "
                        f"({cpu['busy_share']:.0%} of its {os.cpu_count()} cores busy)"
                    )
                    if result["wal"] is not None:
                        wal = result["wal"]
                        print(
                            f"{'':>{len(store) + 8}} write-ahead log: {wal.written / 2**20:.0f} MB,"
                            f" its buffers found full {wal.buffers_full:,} times"
                            f" (wal_buffers {wal.wal_buffers})"
                        )
                if totals[2]:
                    ratios = [one / two for one, two in zip(totals[1], totals[2], strict=True)]
                    print(
                        f"{store} {count:>7} two schedulers against one, turn by turn: "
                        f"{', '.join(f'{ratio:.2f}x' for ratio in ratios)}; "
                        f"median {statistics.median(ratios):.2f}x"
                    )
                url = fresh_store(store, args.pg, name + "_ceiling", Path(folder))
                migrate(url)
                seconds = ceiling(url, store, count)
                drop_store(store, args.pg, name + "_ceiling")
                print(
                    f"{store} {count:>7} ceiling (one INSERT…SELECT transaction): {seconds:.2f} s"
                )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
