"""Listeners that record every connection made to them: a TCP socket on 127.0.0.1 and Unix
sockets, standing in for the internal services an attack would try to reach.

A connection is recorded when it is accepted; ``arrived()`` also drains the kernel's backlog
without blocking, so a connection made just before the check is counted even if the accepting
thread has not seen it yet. Nothing here waits on time.
"""

from __future__ import annotations

import selectors
import socket
import threading
from pathlib import Path
from types import TracebackType


class Listeners:
    """``tcp_port`` on 127.0.0.1, and Unix sockets at ``unix_paths``; see the module docstring."""

    def __init__(self, unix_paths: list[Path]) -> None:
        self._sockets: list[socket.socket] = []
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        self.tcp_port: int = tcp.getsockname()[1]
        self._sockets.append(tcp)
        self.unix_paths = unix_paths
        for path in unix_paths:
            unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            unix.bind(str(path))
            self._sockets.append(unix)
        self._selector = selectors.DefaultSelector()
        for sock in self._sockets:
            sock.listen(64)
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._arrived: list[str] = []
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _accept_all(self, sock: socket.socket) -> None:
        while True:
            try:
                connection, _ = sock.accept()
            except (BlockingIOError, OSError):
                return
            with self._lock:
                self._arrived.append(f"{sock.family.name} {sock.getsockname()}")
            connection.close()

    def _serve(self) -> None:
        while not self._stopped:
            for key, _ in self._selector.select():
                if key.fileobj is self._wake_read:
                    return
                self._accept_all(key.fileobj)  # type: ignore[arg-type]

    def arrived(self) -> list[str]:
        """Every connection that reached a listener so far."""
        for sock in self._sockets:
            self._accept_all(sock)
        with self._lock:
            return list(self._arrived)

    def close(self) -> None:
        self._stopped = True
        self._wake_write.send(b"x")
        self._thread.join(60)
        for sock in (*self._sockets, self._wake_read, self._wake_write):
            sock.close()

    def __enter__(self) -> Listeners:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
