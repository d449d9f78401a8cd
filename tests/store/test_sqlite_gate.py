"""The SQLite writer gate across processes (``store/sqlite_gate.py``).

The engines here do not wait in SQLite's busy handler at all (``busy_timeout=0``): a writer
that met another's lock would fail at once with "database is locked". So every write that
succeeds while another process writes the same file shows that the writers took turns at the
gate's file lock, not that SQLite waited for them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

from scorecast.store.db import create_engine_for, session_scope
from scorecast.store.sqlite_gate import WriterGate, writer_gate

DEADLINE = 120.0  # seconds: generous, for a loaded machine

#: A writer process: ``THREADS`` threads each adding one to the counter ``INCREMENTS`` times.
WRITER = """
import sys, threading
from sqlalchemy import event, text
from scorecast.store.db import create_engine_for, session_scope

url, threads, increments = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
engine = create_engine_for(url)

@event.listens_for(engine, "connect")
def _no_busy_wait(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA busy_timeout=0")

failures = []

def add():
    try:
        for _ in range(increments):
            with session_scope(engine) as session:
                session.execute(text("UPDATE counter SET n = n + 1"))
    except Exception as exc:
        failures.append(exc)

workers = [threading.Thread(target=add) for _ in range(threads)]
print("ready", flush=True)
sys.stdin.readline()  # all processes start together
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(failures[0] if failures else "done")
"""


def _impatient_engine(url: str) -> Engine:
    engine = create_engine_for(url)

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    return engine


def _counter(url: str) -> None:
    engine = create_engine_for(url)
    try:
        with session_scope(engine) as session:
            session.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            session.execute(text("INSERT INTO counter VALUES (0)"))
    finally:
        engine.dispose()


def test_writers_of_several_processes_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _counter(url)
    processes, threads, increments = 3, 3, 150
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(threads), str(increments)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for writer in writers:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    outputs = [writer.communicate(timeout=DEADLINE) for writer in writers]
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0 and out.strip() == "done", err
    engine = create_engine_for(url)
    try:
        with session_scope(engine, deferred=True) as session:
            assert session.execute(text("SELECT n FROM counter")).scalar() == (
                processes * threads * increments
            )
    finally:
        engine.dispose()
    assert (tmp_path / "store.db-writers").exists()


def test_a_writer_waits_at_the_gate_while_another_process_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _counter(url)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = _impatient_engine(url)
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "holding"
        outcome: list[object] = []

        def write() -> None:
            try:
                with session_scope(engine) as session:
                    session.execute(text("UPDATE counter SET n = n * 10"))
                outcome.append("written")
            except Exception as exc:
                outcome.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        gate = writer_gate(engine)
        assert gate is not None
        deadline = time.monotonic() + DEADLINE
        while not gate.taken and writer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.is_alive() and not outcome, outcome  # waiting at the file's lock
        holder.stdin.write("commit\n")
        holder.stdin.flush()
        writer.join(DEADLINE)
        assert outcome == ["written"]
        assert holder.wait(DEADLINE) == 0
        with session_scope(engine, deferred=True) as session:
            # the holder's +1 came first, then this process's * 10
            assert session.execute(text("SELECT n FROM counter")).scalar() == 10
    finally:
        holder.kill()
        engine.dispose()


#: Holds a write transaction (its +1 not yet committed) until told to commit on stdin.
HOLDER = """
import sys
from sqlalchemy import text
from scorecast.store.db import create_engine_for, session_scope

engine = create_engine_for(sys.argv[1])
with session_scope(engine) as session:
    session.execute(text("UPDATE counter SET n = n + 1"))
    print("holding", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""


def test_a_forked_child_does_not_share_its_parents_file_lock(tmp_path: Path) -> None:
    gate = WriterGate(5.0, tmp_path / "store.db")
    info: dict[Any, Any] = {}
    gate.enter(info)
    try:
        part = gate._file  # the part a forked child inherits
        assert part is not None
        child = os.fork()
        if child == 0:  # the child: its own descriptor, so the parent's lock keeps it out
            os._exit(3 if part.acquire(0.2) else 0)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child took its parent's lock"
    finally:
        gate.leave(info)
    assert (tmp_path / "store.db-writers").exists()
