"""Extra API processes of ``scorecast serve`` (``--api-processes``, ``SCORECAST_API_PROCESSES``).

One Python process serves its requests one bytecode at a time; on a machine with several cores
``serve`` can start ``N - 1`` more processes that serve the API on the same listening socket
(the kernel hands each new connection to one of them). Only the API multiplies: the worker,
the scheduler and the notification sender stay in the main process, which also serves the API.

Each extra process opens its own engine on the same store and serves the same app; it never
migrates or bootstraps the store. It stops with the main process: on SIGTERM/SIGINT (the main
process sends SIGTERM when it stops), or when it finds its parent gone.

On a SQLite store the processes' writers take turns at the database's writer gate
(``store/sqlite_gate.py``: the lock of each process, then the lock of a file beside the
database), so they never meet in SQLite's busy handler; their reads run beside any writer.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Final

from scorecast.config import Settings

#: how often an extra process checks that the main process is still there (seconds)
PARENT_CHECK_SECONDS: Final = 1.0
#: how long the main process waits for its extra processes to stop (seconds)
STOP_SECONDS: Final = 15.0


def start_extra(
    count: int, sock: socket.socket, log_level: str, keep_alive: int
) -> list[subprocess.Popen[bytes]]:
    """``count`` processes serving the API on ``sock`` (inherited), with this environment."""
    command = [
        sys.executable,
        "-m",
        "scorecast.cli.api_processes",
        str(os.getpid()),
        str(sock.fileno()),
        log_level,
        str(keep_alive),
    ]
    return [
        subprocess.Popen(command, pass_fds=(sock.fileno(),), stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]


def stop_extra(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process, wait for them, kill any still running after ``STOP_SECONDS``."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(parent: int, descriptor: int, log_level: str, keep_alive: int) -> None:
    """An extra API process of the main process ``parent``: the app on the inherited listening
    socket ``descriptor``."""
    import uvicorn

    from scorecast import log_format
    from scorecast.api.app import create_app
    from scorecast.cli import heap
    from scorecast.cli.uvicorn_server import server_class, uvicorn_config
    from scorecast.metrics import Metrics
    from scorecast.process_privacy import keep_memory_private
    from scorecast.store.db import create_engine_for

    settings = Settings.from_env()
    log_format.configure(settings.log_format, log_level)
    keep_memory_private()
    sock = socket.socket(fileno=descriptor)
    engine = create_engine_for(settings.database_url)
    app = create_app(settings, engine, metrics=Metrics(engine))
    server = server_class(uvicorn)(uvicorn_config(uvicorn, app, settings, log_level, keep_alive))

    def watch_parent() -> None:
        while not server.should_exit:
            if os.getppid() != parent:
                server.should_exit = True
                return
            threading.Event().wait(PARENT_CHECK_SECONDS)

    threading.Thread(target=watch_parent, name="scorecast-parent-watch", daemon=True).start()
    heap.settle()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        engine.dispose()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
