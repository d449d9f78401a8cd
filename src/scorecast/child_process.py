"""Python child processes of the service (job processes, model inspection), talked to over a
``multiprocessing`` connection on a socket pair.

A child is a fresh interpreter (``python -P -c "from <module> import <function>; ..."``), like
``multiprocessing``'s ``spawn``, but started with ``subprocess``: ``spawn`` also starts
``multiprocessing``'s resource tracker, one more process of 14 MB that the service would keep
for ever for nothing (it creates no named semaphores or shared memory). ``-P`` keeps the
current directory off the child's ``sys.path``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from multiprocessing.connection import Connection


def start_child(module: str, function: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``function(connection)`` of ``module`` in a new interpreter; (the process, this
    side's connection). The child gets its end with ``child_connection`` from its argument."""
    parent, child = socket.socketpair()
    with parent, child:
        process = subprocess.Popen(
            [
                sys.executable,
                "-P",
                "-c",
                f"import sys; from {module} import {function}; {function}(int(sys.argv[1]))",
                str(child.fileno()),
            ],
            stdin=subprocess.DEVNULL,
            pass_fds=(child.fileno(),),
        )
        return process, Connection(parent.detach())


def child_connection(descriptor: int) -> Connection:
    """The child's end of the connection ``start_child`` passed it."""
    return Connection(descriptor)
