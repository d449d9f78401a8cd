"""Extra API processes of ``scorecast serve`` (``--api-processes``, ``SCORECAST_API_PROCESSES``).

One Python process serves its requests one bytecode at a time; on a machine with several cores
``serve`` can start ``N - 1`` more processes that serve the API on the same listening socket
(the kernel hands each new connection to one of them). Only the API multiplies: the worker,
the scheduler and the notification sender stay in the main process, which also serves the API.

Each extra process opens its own engine on the same store and serves the same app; it never
migrates or bootstraps the store. Once it serves, it writes one byte to a pipe the main process
reads (``wait_serving``), so that ``serve`` says it is serving only when every API process is:
a client that opens its keep-alive connections at once would otherwise find the main process
alone and keep all of them there. It stops with the main process: on SIGTERM/SIGINT (the main
process sends SIGTERM when it stops), or when it finds its parent gone.

On a SQLite store the processes' writers take turns at the database's writer gate
(``store/sqlite_gate.py``: the lock of each process, then the lock of a file beside the
database), so they never meet in SQLite's busy handler; their reads run beside any writer.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from scorecast.config import Settings

#: how often an extra process checks that the main process is still there (seconds)
PARENT_CHECK_SECONDS: Final = 1.0
#: how long the main process waits for its extra processes to stop (seconds)
STOP_SECONDS: Final = 15.0


@dataclass
class ExtraProcesses:
    """The extra processes, and the read end of the pipe each writes one byte to once it
    serves."""

    processes: list[subprocess.Popen[bytes]]
    serving: int


def start_extra(count: int, sock: socket.socket, log_level: str, keep_alive: int) -> ExtraProcesses:
    """``count`` processes serving the API on ``sock`` (inherited), with this environment."""
    serving, written = os.pipe()
    command = [
        sys.executable,
        "-m",
        "scorecast.cli.api_processes",
        str(os.getpid()),
        str(sock.fileno()),
        str(written),
        log_level,
        str(keep_alive),
    ]
    try:
        processes = [
            subprocess.Popen(command, pass_fds=(sock.fileno(), written), stdout=subprocess.DEVNULL)
            for _ in range(count)
        ]
    finally:
        os.close(written)
    return ExtraProcesses(processes, serving)


def wait_serving(extra: ExtraProcesses, given_up: Callable[[], bool]) -> bool:
    """Wait until every extra process serves: True, or False as soon as one has ended first
    (its error is in the log) or ``given_up()``."""
    waiting = len(extra.processes)
    while waiting > 0:
        try:
            readable, _, _ = select.select([extra.serving], [], [], 0.1)
            said = os.read(extra.serving, waiting) if readable else None
        except OSError:  # the pipe was closed: serve is stopping (``stop_extra``)
            return False
        if said is not None:
            if not said:  # every process closed its end: the rest ended without serving
                return False
            waiting -= len(said)
        elif given_up() or any(p.poll() is not None for p in extra.processes):
            return False
    return True


def stop_extra(extra: ExtraProcesses) -> None:
    """SIGTERM each process, wait for them, kill any still running after ``STOP_SECONDS``."""
    os.close(extra.serving)
    processes = extra.processes
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(parent: int, descriptor: int, serving: int, log_level: str, keep_alive: int) -> None:
    """An extra API process of the main process ``parent``: the app on the inherited listening
    socket ``descriptor``; one byte to ``serving`` once it serves."""
    import uvicorn

    from scorecast import log_format
    from scorecast.api.app import create_app
    from scorecast.cli import heap
    from scorecast.cli.uvicorn_server import server_class, uvicorn_config, wait_started
    from scorecast.metrics import Metrics
    from scorecast.process_privacy import keep_memory_private
    from scorecast.store.db import create_engine_for

    settings = Settings.from_env()
    log_format.configure(settings.log_format, log_level)
    keep_memory_private()
    sock = socket.socket(fileno=descriptor)
    engine = create_engine_for(settings.database_url, pool_size=settings.database_pool_size)
    app = create_app(settings, engine, metrics=Metrics(engine))
    server = server_class(uvicorn)(uvicorn_config(uvicorn, app, settings, log_level, keep_alive))

    def watch_parent() -> None:
        while not server.should_exit:
            if os.getppid() != parent:
                server.should_exit = True
                return
            threading.Event().wait(PARENT_CHECK_SECONDS)

    def say_serving() -> None:
        try:
            if wait_started(server):
                os.write(serving, b"1")
        finally:
            os.close(serving)

    threading.Thread(target=watch_parent, name="scorecast-parent-watch", daemon=True).start()
    threading.Thread(target=say_serving, name="scorecast-say-serving", daemon=True).start()
    heap.settle()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        engine.dispose()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
